package names

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    XName
		wantErr string
	}{
		{in: "ns/pvc", want: XName{Namespace: "ns", Name: "pvc"}},
		{in: "kind/source/datavol", want: XName{Context: "kind", Namespace: "source", Name: "datavol"}},
		{in: "arn:aws:eks:eu-west-1:1:cluster/x/ns/n", wantErr: `"arn:aws:eks:eu-west-1:1:cluster/x/ns/n"`},
		{in: "my.ctx@user/ns/a.b-c", want: XName{Context: "my.ctx@user", Namespace: "ns", Name: "a.b-c"}},
		{in: "pvc", wantErr: `"pvc"`},
		{in: "", wantErr: `""`},
		{in: "a/b/c/d", wantErr: `"a/b/c/d"`},
		{in: "/ns/pvc", wantErr: "empty context"},
		{in: "ns/", wantErr: `name ""`},
		{in: "/pvc", wantErr: `namespace ""`},
		{in: "Ns/pvc", wantErr: `namespace "Ns"`},
		{in: "ns/PVC", wantErr: `name "PVC"`},
		{in: "ctx/n.s/pvc", wantErr: `namespace "n.s"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an ErrFormat error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if back, err := Parse(got.String()); err != nil || back != got {
				t.Errorf("String() %q does not parse back: %+v, %v", got.String(), back, err)
			}
		})
	}
}
