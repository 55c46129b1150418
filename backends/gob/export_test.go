package gob

// SetTakeoverHook sets the function run between reading an expired lock and
// replacing it (nil to clear).
func SetTakeoverHook(f func()) { testHookTakeover = f }
