package dynamodb_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachette-go/cachette/backends/backendtest"
)

// TestCloseClosesInstanceMetadataConnections checks that Close closes the
// connections the AWS SDK opened to the EC2 instance metadata service (the
// last link of the default credential chain, asked here because no other
// credentials are set): they used to stay open, with two goroutines each,
// until the SDK's idle timeout (90 s) after the store was closed. The
// metadata service is a local server that knows no credentials, so the
// store signs with its dummy ones.
func TestCloseClosesInstanceMetadataConnections(t *testing.T) {
	endpoint := backendtest.ServerEnv(t, urlEnv)
	var (
		mu     sync.Mutex
		open   = map[net.Conn]bool{}
		seen   int
		allOut = make(chan struct{}, 1)
	)
	imds := httptest.NewUnstartedServer(http.NotFoundHandler())
	imds.Config.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open[c] = true
			seen++
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
			if len(open) == 0 {
				select {
				case allOut <- struct{}{}:
				default:
				}
			}
		}
	}
	imds.Start()
	defer imds.Close()

	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      imds.URL,
		"AWS_EC2_METADATA_DISABLED":              "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_SHARED_CREDENTIALS_FILE":            none,
		"AWS_CONFIG_FILE":                        none,
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
		t.Setenv(k, v)
	}
	s := openAt(t, endpoint, testTable, "imds", 0)
	mu.Lock()
	asked := seen
	mu.Unlock()
	if asked == 0 {
		t.Fatal("Open did not ask the instance metadata service: the test checks nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		mu.Lock()
		n := len(open)
		mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-allOut:
		case <-deadline:
			t.Fatalf("%d connection(s) to the instance metadata service still open 30s after Close", n)
		}
	}
}
