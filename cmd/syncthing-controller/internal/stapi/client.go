package stapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Timeouts of one API call and of a connection.
const (
	// RequestTimeout bounds one API call (the reference's 5 s).
	RequestTimeout = 5 * time.Second
	// idleTimeout closes a connection the controller no longer polls.
	idleTimeout = 90 * time.Second
	// maxBody bounds a response read into memory (a configuration with hundreds of devices
	// is well under it).
	maxBody = 8 << 20
)

// ErrUnauthorized: the API refused the key (the Secret and the running syncthing disagree).
var ErrUnauthorized = errors.New("the syncthing API refused the API key")

// Endpoint is where a mover's API is and how it is trusted.
type Endpoint struct {
	// Address is host:port to connect to (the API Service's ClusterIP and port).
	Address string
	// ServerName is the name the certificate must be valid for (<api service>.<namespace>).
	ServerName string
	// CertPEM is the one certificate trusted (the generated Secret's).
	CertPEM []byte
	// APIKey is sent as X-API-Key.
	APIKey string
}

// Dialer opens connections; tests map Service addresses to processes on loopback.
type Dialer func(ctx context.Context, network, address string) (net.Conn, error)

// Client talks to one syncthing.
type Client struct {
	base   string
	apiKey string
	http   *http.Client
}

// New returns a client of e whose connections are made by dial (nil: a net.Dialer with a
// short timeout). Connections are kept alive between polls.
func New(e Endpoint, dial Dialer) (*Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.CertPEM) {
		return nil, errors.New("the API certificate is not PEM")
	}
	if dial == nil {
		d := &net.Dialer{Timeout: RequestTimeout}
		dial = d.DialContext
	}
	tr := &http.Transport{
		DialContext:         dial,
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: e.ServerName, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: RequestTimeout,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     idleTimeout,
		Proxy:               nil, // the mover is in the cluster: never through the controller's proxy
	}
	return &Client{
		base:   "https://" + e.Address,
		apiKey: e.APIKey,
		http:   &http.Client{Transport: tr, Timeout: RequestTimeout},
	}, nil
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", c.apiKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s %s: %w", method, path, ErrUnauthorized)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s %s: not found (an API this syncthing does not have)", method, path)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, firstLine(data))
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// SystemStatus is the part of /rest/system/status the controller reads.
type SystemStatus struct {
	MyID string `json:"myID"`
}

// Status returns the device's own status (its ID).
func (c *Client) Status(ctx context.Context) (SystemStatus, error) {
	var s SystemStatus
	err := c.do(ctx, http.MethodGet, "/rest/system/status", nil, nil, &s)
	return s, err
}

// Connection is one device's entry of /rest/system/connections.
type Connection struct {
	Connected bool   `json:"connected"`
	Address   string `json:"address"`
	Paused    bool   `json:"paused"`
}

// Connections returns the connection state of every configured device, by device ID.
func (c *Client) Connections(ctx context.Context) (map[string]Connection, error) {
	var out struct {
		Connections map[string]Connection `json:"connections"`
	}
	err := c.do(ctx, http.MethodGet, "/rest/system/connections", nil, nil, &out)
	return out.Connections, err
}

// Completion is a device's view of a folder (/rest/db/completion).
type Completion struct {
	Completion  float64 `json:"completion"`
	NeedBytes   int64   `json:"needBytes"`
	NeedItems   int64   `json:"needItems"`
	NeedDeletes int64   `json:"needDeletes"`
	// RemoteState is "valid" once the device shares the folder with us, "notSharing" or
	// "unknown" before.
	RemoteState string `json:"remoteState"`
}

// Completion returns how complete device's copy of folder is, as far as this syncthing knows.
func (c *Client) Completion(ctx context.Context, folder, device string) (Completion, error) {
	var out Completion
	err := c.do(ctx, http.MethodGet, "/rest/db/completion", url.Values{"folder": {folder}, "device": {device}}, nil, &out)
	return out, err
}

// FolderStatus is the local state of a folder (/rest/db/status).
type FolderStatus struct {
	// State is "idle" when the folder is neither scanning nor pulling.
	State          string `json:"state"`
	NeedTotalItems int64  `json:"needTotalItems"`
	NeedBytes      int64  `json:"needBytes"`
	PullErrors     int64  `json:"pullErrors"`
	// Error is set when the folder is stopped (its path is missing, the disk is full).
	Error string `json:"error"`
}

// FolderStatus returns the local state of folder.
func (c *Client) FolderStatus(ctx context.Context, folder string) (FolderStatus, error) {
	var out FolderStatus
	err := c.do(ctx, http.MethodGet, "/rest/db/status", url.Values{"folder": {folder}}, nil, &out)
	return out, err
}

// Config returns the whole configuration.
func (c *Client) Config(ctx context.Context) (Config, error) {
	var raw map[string]any
	if err := c.do(ctx, http.MethodGet, "/rest/config", nil, nil, &raw); err != nil {
		return Config{}, err
	}
	return Config{raw: raw}, nil
}

// PutConfig replaces the configuration (syncthing applies it at once).
func (c *Client) PutConfig(ctx context.Context, cfg Config) error {
	return c.do(ctx, http.MethodPut, "/rest/config", nil, cfg.raw, nil)
}
