package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cachette-go/cachette"
)

func TestPutFetchClear(t *testing.T) {
	c, err := cachette.New(context.Background(), cachette.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(newHandler(c))
	defer srv.Close()

	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("GET", "/greeting", ""); code != 404 {
		t.Fatalf("GET before POST = %d", code)
	}
	if code, body := do("POST", "/", `{"key":"greeting","value":"hello"}`); code != 200 || body != "OK" {
		t.Fatalf("POST = %d %q", code, body)
	}
	if code, body := do("GET", "/greeting", ""); code != 200 || body != "hello" {
		t.Fatalf("GET = %d %q", code, body)
	}
	if code, _ := do("DELETE", "/greeting", ""); code != 200 {
		t.Fatalf("DELETE = %d", code)
	}
	if code, _ := do("GET", "/greeting", ""); code != 404 {
		t.Fatalf("GET after DELETE = %d", code)
	}
	if code, _ := do("POST", "/", `not json`); code != 400 {
		t.Fatalf("bad POST = %d", code)
	}
}
