package backends

import "testing"

// wrapped is a decorator of the kind Unwrap follows; a nil inner stands
// for one that wraps nothing.
type wrapped struct {
	Backend
	inner Backend
}

func (w wrapped) Unwrap() Backend { return w.inner }

func TestUnwrap(t *testing.T) {
	var base Backend = wrapped{} // a store with an Unwrap that returns nil
	two := wrapped{inner: wrapped{inner: base}}
	if got := Unwrap(two); got != base {
		t.Errorf("Unwrap of two decorators = %#v, want the store under them", got)
	}
	if got := Unwrap(base); got != base {
		t.Errorf("Unwrap of a store whose Unwrap returns nil = %#v, want the store itself", got)
	}
}
