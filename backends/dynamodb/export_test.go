package dynamodb

// SetTestHookAfterScan makes FlushExpired call f between its scan of a page
// and its deletes, until the returned function restores the default.
func SetTestHookAfterScan(f func()) (restore func()) {
	testHookAfterScan = f
	return func() { testHookAfterScan = nil }
}
