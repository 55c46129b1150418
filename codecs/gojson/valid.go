package gojson

// maxDepth is encoding/json's nesting limit: 10000 levels of arrays and
// objects are well-formed, 10001 are not.
const maxDepth = 10000

// valid reports whether data is exactly one JSON value, surrounded by
// white space or not, as json.Valid does (RFC 8259, nesting at most
// maxDepth deep, strings not checked for valid UTF-8). It does what
// encoding/json's scanner does in less than half the time, which keeps
// most of what go-json saves on decoding (FuzzGoJSONDecode checks that the
// two agree on every input).
func valid(data []byte) bool {
	// stack holds '{' or '[' for each open container.
	var stack []byte
	i := skipSpace(data, 0)
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case '{', '[':
			if len(stack) >= maxDepth {
				return false
			}
			open := data[i]
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == open+2 { // '}' or ']'
				i++
				break
			}
			stack = append(stack, open)
			if open == '{' {
				var ok bool
				if i, ok = key(data, i); !ok {
					return false
				}
			}
			continue
		case '"':
			var ok bool
			if i, ok = str(data, i); !ok {
				return false
			}
		case 't':
			if !literal(data, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !literal(data, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !literal(data, i, "null") {
				return false
			}
			i += 4
		default:
			var ok bool
			if i, ok = number(data, i); !ok {
				return false
			}
		}
		// A value ended at data[i]: close containers until one goes on.
		for {
			i = skipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == top+2 { // '}' or ']'
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if data[i] != ',' {
				return false
			}
			i = skipSpace(data, i+1)
			if top == '{' {
				var ok bool
				if i, ok = key(data, i); !ok {
					return false
				}
			}
			break
		}
	}
}

// skipSpace returns the offset of the first byte at or after i that is
// not JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// key checks an object key and its colon at data[i:] and returns the
// offset of what follows them, white space skipped.
func key(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	i, ok := str(data, i)
	if !ok {
		return 0, false
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return 0, false
	}
	return skipSpace(data, i+1), true
}

// str checks the string that starts with the quote at data[i] and returns
// the offset just past its closing quote.
func str(data []byte, i int) (int, bool) {
	i++
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			i++
			if i >= len(data) {
				return 0, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(data)-i < 5 {
					return 0, false
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 5
			default:
				return 0, false
			}
		default:
			i++
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literal reports whether data[i:] starts with word.
func literal(data []byte, i int, word string) bool {
	return len(data)-i >= len(word) && string(data[i:i+len(word)]) == word
}

// number checks the number at data[i:] (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
// and returns the offset just past it.
func number(data []byte, i int) (int, bool) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return 0, false
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = digits(data, i+1)
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// digits returns the offset of the first byte at or after i that is not
// a decimal digit.
func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
