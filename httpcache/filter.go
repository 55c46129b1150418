package httpcache

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrInvalidQuery is wrapped by Decode's errors about a query parameter
// whose value does not parse as its field's type.
var ErrInvalidQuery = errors.New("httpcache: invalid query parameter")

// ErrInvalidFilter is wrapped by Decode's errors about the filter itself:
// not a pointer to a struct, a field type that is not supported, or a
// default tag that does not parse.
var ErrInvalidFilter = errors.New("httpcache: invalid filter")

// Decode fills the struct dst points to from the query of r, the way the
// middleware reads it for the key, so the handler and the key always agree.
//
// Only fields tagged `query:"name"` are read; other fields and unknown
// parameters are ignored. A parameter that is absent or empty takes the
// field's `default:"value"` tag, or the zero value. Supported field types
// are string, bool, the int, uint and float kinds, and slices of those.
// Slice fields take every value of a repeated parameter (?tag=a&tag=b; a
// default is comma-separated: `default:"a,b"`), de-duplicated and sorted;
// other fields take the first value. Every tagged field is set, so dst's
// previous contents do not leak through.
//
// A value that does not parse gives an error wrapping ErrInvalidQuery that
// names the parameter (for the handler to answer 400), and so does a bad
// escape or a semicolon in a parameter a field reads; a malformed
// parameter that no field reads is ignored like any other. A dst that is not a
// pointer to a struct, or an unsupported field, gives one wrapping
// ErrInvalidFilter. Decode never panics.
func Decode(r *http.Request, dst any) error {
	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: Decode needs a non-nil pointer to a struct, got %T", ErrInvalidFilter, dst)
	}
	plan, err := planFor(rv.Elem().Type())
	if err != nil {
		return err
	}
	q, err := plan.query(r.URL.RawQuery)
	if err != nil {
		return err
	}
	vals, err := plan.parse(q)
	if err != nil {
		return err
	}
	s := rv.Elem()
	for i, f := range plan.fields {
		s.FieldByIndex(f.index).Set(vals[i])
	}
	return nil
}

// query parses a raw query for the plan. A parameter that does not parse
// (a bad escape, a semicolon) is an error only when it is one of the
// plan's fields; the others are ignored, like unknown parameters.
func (p *filterPlan) query(raw string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err == nil {
		return q, nil
	}
	// ParseQuery skips the pairs it rejects and keeps the others; find
	// whether a rejected pair is one the plan reads.
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(k)
		if kerr != nil || !p.reads(name) {
			continue // not a name any field reads
		}
		if strings.Contains(pair, ";") {
			return nil, fmt.Errorf("%w %q: a semicolon is not a parameter separator", ErrInvalidQuery, name)
		}
		if _, verr := url.QueryUnescape(v); verr != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrInvalidQuery, name, verr)
		}
	}
	return q, nil
}

// reads reports whether a field of the plan reads query parameter name.
func (p *filterPlan) reads(name string) bool {
	_, found := slices.BinarySearchFunc(p.fields, name, func(f filterField, n string) int { return strings.Compare(f.name, n) })
	return found
}

// filterPlan is what Decode and the key builder know about a filter type.
type filterPlan struct {
	fields []filterField // sorted by name
}

type filterField struct {
	name  string // the query parameter
	index []int
	typ   reflect.Type  // the field's type
	elem  reflect.Type  // the scalar type: typ, or its element for a slice
	def   reflect.Value // the parsed default
}

var plans sync.Map // reflect.Type -> *filterPlan or error

// planFor returns the plan of struct type t, building it once.
func planFor(t reflect.Type) (*filterPlan, error) {
	if v, ok := plans.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*filterPlan), nil
	}
	plan, err := buildPlan(t)
	if err != nil {
		plans.Store(t, err)
		return nil, err
	}
	plans.Store(t, plan)
	return plan, nil
}

func buildPlan(t reflect.Type) (*filterPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: a filter must be a struct, got %v", ErrInvalidFilter, t)
	}
	plan := &filterPlan{}
	seen := map[string]string{}
	for _, sf := range reflect.VisibleFields(t) {
		name, ok := sf.Tag.Lookup("query")
		name, _, _ = strings.Cut(name, ",")
		if !ok || name == "-" {
			continue
		}
		if !sf.IsExported() {
			return nil, fmt.Errorf("%w: field %s.%s has a query tag but is not exported", ErrInvalidFilter, t, sf.Name)
		}
		if throughPointer(t, sf.Index) {
			return nil, fmt.Errorf("%w: field %s.%s is promoted through an embedded pointer; embed the struct itself", ErrInvalidFilter, t, sf.Name)
		}
		if name == "" {
			return nil, fmt.Errorf("%w: field %s.%s has an empty query tag", ErrInvalidFilter, t, sf.Name)
		}
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: fields %s and %s of %s both read query parameter %q", ErrInvalidFilter, other, sf.Name, t, name)
		}
		seen[name] = sf.Name
		f := filterField{name: name, index: sf.Index, typ: sf.Type, elem: sf.Type}
		if sf.Type.Kind() == reflect.Slice {
			f.elem = sf.Type.Elem()
		}
		if !scalarKind(f.elem.Kind()) {
			return nil, fmt.Errorf("%w: field %s.%s has type %v; use a string, bool, number, or a slice of those", ErrInvalidFilter, t, sf.Name, sf.Type)
		}
		var def []string
		if d, ok := sf.Tag.Lookup("default"); ok && d != "" {
			def = []string{d}
			if sf.Type.Kind() == reflect.Slice {
				def = strings.Split(d, ",")
			}
		}
		v, err := f.value(def)
		if err != nil {
			return nil, fmt.Errorf("%w: field %s.%s: bad default tag: %v", ErrInvalidFilter, t, sf.Name, err)
		}
		f.def = v
		plan.fields = append(plan.fields, f)
	}
	slices.SortFunc(plan.fields, func(a, b filterField) int { return strings.Compare(a.name, b.name) })
	return plan, nil
}

// throughPointer reports whether the field at index is reached through an
// embedded pointer, which may be nil.
func throughPointer(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		t = t.Field(i).Type
		if t.Kind() == reflect.Pointer {
			return true
		}
	}
	return false
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// parse reads every field of the plan from q, defaults filled in. It
// returns one value per field, in plan order.
func (p *filterPlan) parse(q url.Values) ([]reflect.Value, error) {
	out := make([]reflect.Value, len(p.fields))
	for i, f := range p.fields {
		raw := nonEmpty(q[f.name])
		if len(raw) == 0 {
			out[i] = f.defaultValue()
			continue
		}
		v, err := f.value(raw)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrInvalidQuery, f.name, err)
		}
		out[i] = v
	}
	return out, nil
}

// defaultValue returns the field's default. A slice default is copied,
// so that a handler changing what Decode gave it changes neither the next
// Decode nor the keys.
func (f filterField) defaultValue() reflect.Value {
	if f.def.Kind() != reflect.Slice || f.def.IsNil() {
		return f.def
	}
	s := reflect.MakeSlice(f.def.Type(), f.def.Len(), f.def.Len())
	reflect.Copy(s, f.def)
	return s
}

func nonEmpty(vs []string) []string {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	if n == len(vs) {
		return vs
	}
	out := make([]string, 0, n)
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// value parses raw into a value of the field's type: the first string for
// a scalar, every string for a slice (then de-duplicated and sorted). No
// strings give the zero value.
func (f filterField) value(raw []string) (reflect.Value, error) {
	if f.typ.Kind() != reflect.Slice {
		v := reflect.New(f.typ).Elem()
		if len(raw) == 0 {
			return v, nil
		}
		return v, setScalar(v, raw[0])
	}
	if len(raw) == 0 {
		return reflect.Zero(f.typ), nil
	}
	s := reflect.MakeSlice(f.typ, len(raw), len(raw))
	for i, r := range raw {
		if err := setScalar(s.Index(i), strings.TrimSpace(r)); err != nil {
			return s, err
		}
	}
	return sortDedup(s), nil
}

func setScalar(v reflect.Value, s string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return numError(s, "a whole number", v.Type(), err)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return numError(s, "a non-negative whole number", v.Type(), err)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return numError(s, "a number", v.Type(), err)
		}
		v.SetFloat(x)
	default:
		return fmt.Errorf("unsupported type %v", v.Type())
	}
	return nil
}

func numError(s, what string, t reflect.Type, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%q is out of range for %v", s, t)
	}
	return fmt.Errorf("%q is not %s", s, what)
}

// sortDedup sorts slice s in place and returns it without repeated values.
func sortDedup(s reflect.Value) reflect.Value {
	switch x := s.Interface().(type) {
	case []string:
		slices.Sort(x)
		return reflect.ValueOf(slices.Compact(x)).Convert(s.Type())
	}
	n := s.Len()
	less := func(i, j int) int { return compareScalar(s.Index(i), s.Index(j)) }
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, less)
	out := reflect.MakeSlice(s.Type(), 0, n)
	for k, i := range idx {
		if k > 0 && less(idx[k-1], i) == 0 {
			continue
		}
		out = reflect.Append(out, s.Index(i))
	}
	return out
}

func compareScalar(a, b reflect.Value) int {
	switch a.Kind() {
	case reflect.String:
		return strings.Compare(a.String(), b.String())
	case reflect.Bool:
		switch {
		case a.Bool() == b.Bool():
			return 0
		case b.Bool():
			return -1
		}
		return 1
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cmp.Compare(a.Uint(), b.Uint())
	default:
		return cmp.Compare(a.Float(), b.Float())
	}
}

// canonical writes the parsed values as a query string: fields by name,
// values formatted the one way (so ?page=01 and ?page=1 agree).
func (p *filterPlan) canonical(vals []reflect.Value) string {
	var b strings.Builder
	for i, f := range p.fields {
		v := vals[i]
		if f.typ.Kind() != reflect.Slice {
			appendParam(&b, f.name, formatScalar(v))
			continue
		}
		if v.Len() == 0 {
			appendParam(&b, f.name, "") // an empty list, distinct from no field
			continue
		}
		for j := range v.Len() {
			appendParam(&b, f.name, formatScalar(v.Index(j)))
		}
	}
	return b.String()
}

func appendParam(b *strings.Builder, name, value string) {
	if b.Len() > 0 {
		b.WriteByte('&')
	}
	b.WriteString(url.QueryEscape(name))
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(value))
}

func formatScalar(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	default:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
	}
}
