package dynamodb_test

import (
	"os"
	"testing"
)

// TestMain lets the AWS SDK try a request up to 10 times (3 by default):
// DynamoDB Local, the dynamodb test server, now and then answers a request
// of a busy test run with a body that fails the SDK's checksum or is cut
// ("deserialization failed"), which the SDK retries. A client of a flaky
// endpoint would allow more attempts too; AWS_MAX_ATTEMPTS set by the
// caller wins.
func TestMain(m *testing.M) {
	if os.Getenv("AWS_MAX_ATTEMPTS") == "" {
		_ = os.Setenv("AWS_MAX_ATTEMPTS", "10")
	}
	os.Exit(m.Run())
}
