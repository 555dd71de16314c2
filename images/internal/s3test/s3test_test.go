package s3test

import (
	"net/http"
	"os"
	"os/exec"
	"testing"
)

func requireServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(Tool); err != nil {
		msg := Tool + " not in PATH (export PATH=\"$(images/hack/gotools.sh versitygw):$PATH\")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestServer: plain and TLS servers answer signed requests, create buckets (a directory of
// the posix backend) and refuse wrong credentials.
func TestServer(t *testing.T) {
	requireServer(t)
	for _, useTLS := range []bool{false, true} {
		s := Start(t, Options{TLS: useTLS})
		s.CreateBucket(t, "bucket-one")
		if fi, err := os.Stat(s.ObjectPath("bucket-one", "")); err != nil || !fi.IsDir() {
			t.Fatalf("TLS=%t: bucket directory: %v", useTLS, err)
		}
		resp, err := s.do(http.MethodHead, "/bucket-one")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("TLS=%t: HEAD bucket: %v %v", useTLS, resp, err)
		}
		good := s.SecretKey
		s.SecretKey = "wrong" + good
		resp, err = s.do(http.MethodHead, "/bucket-one")
		s.SecretKey = good
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("TLS=%t: wrong secret: %v %v", useTLS, resp, err)
		}
		if useTLS {
			if _, err := http.Get(s.Endpoint + "/"); err == nil {
				t.Fatal("the server's certificate is trusted without its CA")
			}
		}
	}
}
