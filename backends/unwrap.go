package backends

// Unwrap returns the store under store's decorators: while a store has an
// Unwrap() Backend method that returns a store (an Observer's wrapper,
// say), it follows it. A store without one is returned as it is.
func Unwrap(store Backend) Backend {
	for {
		u, ok := store.(interface{ Unwrap() Backend })
		if !ok {
			return store
		}
		inner := u.Unwrap()
		if inner == nil {
			return store
		}
		store = inner
	}
}
