package httpcache

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrInvalidQuery is wrapped by Decode's errors about a query parameter
// whose value does not parse as its field's type.
var ErrInvalidQuery = errors.New("httpcache: invalid query parameter")

// ErrOutOfRange is wrapped, together with ErrInvalidQuery, by Decode's
// errors about a value outside its field's `min:"..."` or `max:"..."`
// bound.
var ErrOutOfRange = errors.New("httpcache: query parameter out of range")

// ErrInvalidFilter is wrapped by Decode's errors about the filter itself:
// not a pointer to a struct, a field type that is not supported, or a tag
// that does not parse (a name, a default or a bound).
var ErrInvalidFilter = errors.New("httpcache: invalid filter")

// Decode fills the struct dst points to from the query of r, the way the
// middleware reads it for the key, so the handler and the key always agree.
//
// Only fields tagged `query:"name"` are read; other fields and unknown
// parameters are ignored. A tag may list several names, comma-separated,
// as pydantic's alias with populate_by_name does: `query:"id,blog_id"`
// reads ?id=7 and ?blog_id=7 alike, and both make the same key. The first
// name is the canonical one (the one the key is made with); when a request
// gives more than one, the first name in the tag's order that has a
// non-empty value wins (?id=1&blog_id=2 reads 1). A parameter that is
// absent or empty takes the field's `default:"value"` tag, or the zero
// value.
//
// Supported field types are string, bool, the int, uint and float kinds,
// time.Time, pointers to those and slices of those. A pointer field is nil
// when the parameter is absent or empty and the field has no default (with
// a default it points to a fresh copy of it). A time.Time is RFC 3339
// (2024-05-01T10:30:00Z, 2024-05-01T12:30:00+02:00; a "+" that the query
// string turned into a space is read back as "+") or a date alone
// (2024-05-01, midnight UTC); Decode gives it in UTC, so two spellings of
// one instant make one key and the handler sees the value the key was
// made from. Slice fields take every value of a repeated parameter
// (?tag=a&tag=b; a default is comma-separated: `default:"a,b"`),
// de-duplicated and sorted; other fields take the first value. Every
// tagged field is set, so dst's previous contents do not leak through.
//
// A number field (or a pointer to, or slice of, numbers) may carry bounds,
// pydantic's ge and le: `min:"1"` and `max:"100"`, both inclusive, written
// in the field's type; each value of a slice is checked, and NaN is outside
// any bound. Bounds apply to numbers only. A default outside the bounds, a
// bound that does not parse, min above max, or a bound on a field that is
// not a number make the filter invalid (Middleware panics on it).
//
// A value that does not parse gives an error wrapping ErrInvalidQuery that
// names the parameter as the request spelt it (for the handler to answer
// 400), and so does a bad escape or a semicolon in a parameter a field
// reads; a malformed parameter that no field reads is ignored like any
// other. A value outside its bounds gives one wrapping both
// ErrInvalidQuery and ErrOutOfRange. The middleware does not cache a
// request whose query gives Decode an error (MISS, straight to the
// handler). A dst that is not a pointer to a struct, or an invalid field,
// gives an error wrapping ErrInvalidFilter. Decode never panics.
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
	_, found := p.names[name]
	return found
}

// filterPlan is what Decode and the key builder know about a filter type.
type filterPlan struct {
	fields []filterField   // sorted by canonical name
	names  map[string]bool // every name a field reads, aliases included
}

// The shapes of a filter field.
const (
	shapeScalar  = iota // T
	shapePointer        // *T: nil when absent
	shapeSlice          // []T: every value, sorted and de-duplicated
)

type filterField struct {
	name     string   // the canonical query parameter: the tag's first name
	names    []string // every name, in the tag's order
	index    []int
	typ      reflect.Type  // the field's type
	shape    int           // shapeScalar, shapePointer or shapeSlice
	elem     reflect.Type  // the scalar type: typ, or what it points to or holds
	def      reflect.Value // the parsed default; for a pointer, the value pointed to
	hasDef   bool
	min, max reflect.Value // bounds of elem's type; invalid when absent
}

var timeType = reflect.TypeFor[time.Time]()

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
	plan := &filterPlan{names: map[string]bool{}}
	seen := map[string]string{}
	for _, sf := range reflect.VisibleFields(t) {
		tag, ok := sf.Tag.Lookup("query")
		if !ok || tag == "-" {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: field %s.%s: %s", ErrInvalidFilter, t, sf.Name, fmt.Sprintf(format, args...))
		}
		if !sf.IsExported() {
			return nil, bad("has a query tag but is not exported")
		}
		if throughPointer(t, sf.Index) {
			return nil, bad("is promoted through an embedded pointer; embed the struct itself")
		}
		if tag == "" {
			return nil, bad("has an empty query tag")
		}
		names := strings.Split(tag, ",")
		for _, name := range names {
			if name == "" {
				return nil, bad("query tag %q has an empty name", tag)
			}
			if other, dup := seen[name]; dup {
				return nil, fmt.Errorf("%w: fields %s and %s of %s both read query parameter %q", ErrInvalidFilter, other, sf.Name, t, name)
			}
			seen[name] = sf.Name
			plan.names[name] = true
		}
		f := filterField{name: names[0], names: names, index: sf.Index, typ: sf.Type, elem: sf.Type}
		switch sf.Type.Kind() {
		case reflect.Slice:
			f.shape, f.elem = shapeSlice, sf.Type.Elem()
		case reflect.Pointer:
			f.shape, f.elem = shapePointer, sf.Type.Elem()
		}
		if !scalarType(f.elem) {
			return nil, bad("has type %v; use a string, bool, number or time.Time, a pointer to one, or a slice of those", sf.Type)
		}
		if err := f.bounds(sf.Tag); err != nil {
			return nil, bad("%v", err)
		}
		var def []string
		if d, ok := sf.Tag.Lookup("default"); ok && d != "" {
			def = []string{d}
			if f.shape == shapeSlice {
				def = strings.Split(d, ",")
			}
		}
		v, err := f.value(def)
		if err != nil {
			return nil, bad("bad default tag: %v", err)
		}
		if f.shape == shapePointer && !v.IsNil() {
			f.def, f.hasDef = v.Elem(), true
		} else {
			f.def = v
		}
		plan.fields = append(plan.fields, f)
	}
	slices.SortFunc(plan.fields, func(a, b filterField) int { return strings.Compare(a.name, b.name) })
	return plan, nil
}

// bounds reads the min and max tags of f.
func (f *filterField) bounds(tag reflect.StructTag) error {
	for _, b := range []struct {
		name string
		dst  *reflect.Value
	}{{"min", &f.min}, {"max", &f.max}} {
		s, ok := tag.Lookup(b.name)
		if !ok {
			continue
		}
		if !numberKind(f.elem.Kind()) {
			return fmt.Errorf("a %s tag needs a number field, not %v", b.name, f.typ)
		}
		v := reflect.New(f.elem).Elem()
		if err := setScalar(v, strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("bad %s tag: %v", b.name, err)
		}
		if isNaN(v) {
			return fmt.Errorf("bad %s tag: NaN is not a bound", b.name)
		}
		*b.dst = v
	}
	if f.min.IsValid() && f.max.IsValid() && compareScalar(f.min, f.max) > 0 {
		return fmt.Errorf("min %s is above max %s", formatScalar(f.min), formatScalar(f.max))
	}
	return nil
}

// check reports a value of f outside its bounds, with an error wrapping
// ErrOutOfRange.
func (f filterField) check(v reflect.Value) error {
	switch {
	case (f.min.IsValid() || f.max.IsValid()) && isNaN(v):
		return &rangeError{"NaN is outside the bounds"}
	case f.min.IsValid() && compareScalar(v, f.min) < 0:
		return &rangeError{fmt.Sprintf("%s is less than the minimum %s", formatScalar(v), formatScalar(f.min))}
	case f.max.IsValid() && compareScalar(v, f.max) > 0:
		return &rangeError{fmt.Sprintf("%s is more than the maximum %s", formatScalar(v), formatScalar(f.max))}
	}
	return nil
}

// rangeError is a value outside its field's bounds; it is ErrOutOfRange.
type rangeError struct{ msg string }

func (e *rangeError) Error() string        { return e.msg }
func (e *rangeError) Is(target error) bool { return target == ErrOutOfRange }

func isNaN(v reflect.Value) bool {
	k := v.Kind()
	return (k == reflect.Float32 || k == reflect.Float64) && math.IsNaN(v.Float())
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

func scalarType(t reflect.Type) bool {
	return t == timeType || t.Kind() == reflect.String || t.Kind() == reflect.Bool || numberKind(t.Kind())
}

func numberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
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
		var raw []string
		name := f.name
		for _, n := range f.names {
			if raw = nonEmpty(q[n]); len(raw) > 0 {
				name = n
				break
			}
		}
		if len(raw) == 0 {
			out[i] = f.defaultValue()
			continue
		}
		v, err := f.value(raw)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrInvalidQuery, name, err)
		}
		out[i] = v
	}
	return out, nil
}

// defaultValue returns the field's default. A slice default is copied, and
// a pointer points to a fresh copy, so that a handler changing what Decode
// gave it changes neither the next Decode nor the keys.
func (f filterField) defaultValue() reflect.Value {
	switch f.shape {
	case shapePointer:
		if !f.hasDef {
			return reflect.Zero(f.typ)
		}
		p := reflect.New(f.elem)
		p.Elem().Set(f.def)
		return p
	case shapeSlice:
		if f.def.IsNil() {
			return f.def
		}
		s := reflect.MakeSlice(f.def.Type(), f.def.Len(), f.def.Len())
		reflect.Copy(s, f.def)
		return s
	}
	return f.def
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
// a scalar or pointer, every string for a slice (then de-duplicated and
// sorted), each checked against the bounds. No strings give the zero
// value (a nil pointer).
func (f filterField) value(raw []string) (reflect.Value, error) {
	switch f.shape {
	case shapeScalar:
		v := reflect.New(f.typ).Elem()
		if len(raw) == 0 {
			return v, nil
		}
		return v, f.scalar(v, raw[0])
	case shapePointer:
		if len(raw) == 0 {
			return reflect.Zero(f.typ), nil
		}
		p := reflect.New(f.elem)
		return p, f.scalar(p.Elem(), raw[0])
	}
	if len(raw) == 0 {
		return reflect.Zero(f.typ), nil
	}
	s := reflect.MakeSlice(f.typ, len(raw), len(raw))
	for i, r := range raw {
		if err := f.scalar(s.Index(i), strings.TrimSpace(r)); err != nil {
			return s, err
		}
	}
	return sortDedup(s), nil
}

// scalar sets v from s and checks it against the bounds.
func (f filterField) scalar(v reflect.Value, s string) error {
	if err := setScalar(v, s); err != nil {
		return err
	}
	return f.check(v)
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == timeType {
		t, err := parseTime(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(t))
		return nil
	}
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

// parseTime reads RFC 3339 or a date alone (midnight UTC), and returns the
// time in UTC. A space where RFC 3339 has its "+" offset sign is read as
// "+": an unescaped "+" in a query string arrives as a space.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && len(s) > len(time.DateOnly) && strings.Count(s, " ") == 1 {
		t, err = time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2006-01-02T15:04:05Z07:00) or a date (2006-01-02)", s)
	}
	return t.UTC(), nil
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
	if a.Type() == timeType {
		return a.Interface().(time.Time).Compare(b.Interface().(time.Time))
	}
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
		switch f.shape {
		case shapeScalar:
			appendParam(&b, f.name, formatScalar(v))
			continue
		case shapePointer:
			if !v.IsNil() { // nil: no parameter, distinct from any value
				appendParam(&b, f.name, formatScalar(v.Elem()))
			}
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
	if v.Type() == timeType {
		return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano)
	}
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
