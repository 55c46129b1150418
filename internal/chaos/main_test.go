package chaos

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine is still running once every
// test has ended: whatever a test opened (caches, stores, servers, HTTP
// clients) must be closed, and whatever the library started must have
// stopped then. No goroutine is ignored: none of the library's
// dependencies keeps one for the life of the process (goleak's defaults
// already leave out the testing package's and the runtime's own).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
