package psk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const key32 = "0123456789abcdef0123456789ABCDEF"

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []PSK
		wantErr string
	}{
		{name: "generated", in: "volsync:" + key32 + key32 + "\n", want: []PSK{{"volsync", key32 + key32}}},
		{name: "docs example", in: "1:23b7395fafc3e842bd8ac0fe142e6ad1", want: []PSK{{"1", "23b7395fafc3e842bd8ac0fe142e6ad1"}}},
		{name: "crlf and blank lines", in: "\r\na:" + key32 + "\r\n\r\nb:" + key32 + "\r\n", want: []PSK{{"a", key32}, {"b", key32}}},
		{name: "surrounding spaces", in: "  a:" + key32 + "\t\n", want: []PSK{{"a", key32}}},
		{name: "longest identity", in: strings.Repeat("i", MaxIdentityLen) + ":" + key32, want: []PSK{{strings.Repeat("i", MaxIdentityLen), key32}}},
		{name: "empty", in: "", wantErr: "no <identity>:<key> line"},
		{name: "blank lines only", in: "\n \r\n", wantErr: "no <identity>:<key> line"},
		{name: "no colon", in: "volsync" + key32, wantErr: "line 1: want <identity>:"},
		{name: "empty identity", in: ":" + key32, wantErr: "empty identity"},
		{name: "identity too long", in: strings.Repeat("i", MaxIdentityLen+1) + ":" + key32, wantErr: "identity longer than 128"},
		{name: "short key", in: "v:abcdef", wantErr: "key has 6 characters"},
		{name: "odd key", in: "v:" + key32 + "a", wantErr: "odd number"},
		{name: "not hex", in: "v:" + strings.Repeat("zz", 16), wantErr: "not hexadecimal"},
		// The controller's old check (16 printable characters) accepted these; stunnel does not.
		{name: "printable but not hex", in: "volsync:this-is-not-hex-but-long", wantErr: "key has 24 characters"},
		{name: "long printable but not hex", in: "volsync:" + strings.Repeat("secret!!", 8), wantErr: "not hexadecimal"},
		{name: "colon in key", in: "v:" + key32 + "::" + key32, wantErr: "not hexadecimal"},
		{name: "space in identity", in: "a b:" + key32, wantErr: "printable ASCII"},
		{name: "non-ASCII identity", in: "é:" + key32, wantErr: "printable ASCII"},
		{name: "duplicate", in: "a:" + key32 + "\na:" + key32, wantErr: "line 2: identity \"a\" appears twice"},
		{name: "bad second line", in: "a:" + key32 + "\nb:" + key32[:30], wantErr: "line 2: key has 30 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if verr := Validate([]byte(tc.in)); (verr == nil) != (err == nil) {
				t.Fatalf("Validate %v disagrees with Parse %v", verr, err)
			}
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an ErrMalformed with %q", err, tc.wantErr)
				}
				if _, key, ok := strings.Cut(tc.in, ":"); ok && len(key) > 4 && strings.Contains(err.Error(), strings.TrimSpace(key)) {
					t.Fatalf("error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tc.want) || len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("entry %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestStringHidesKey(t *testing.T) {
	p := PSK{Identity: "volsync", Key: key32}
	for _, s := range []string{p.String(), fmt.Sprintf("%v %+v %#v %s", p, p, p, []PSK{p})} {
		if strings.Contains(s, key32) {
			t.Fatalf("key shown: %s", s)
		}
	}
}
