package rsynctls

import (
	"strings"
	"testing"

	"github.com/volsync-go/volsync/images/contract/psk"
	"github.com/volsync-go/volsync/pkg/testutil/lifecycle"
)

// FuzzPSKControllerAgreesWithMover: the controller accepts a key Secret exactly when the mover
// accepts the key file it becomes (the mover parses /keys/psk.txt with psk.Parse; its own fuzz
// test, images/internal/stunnel FuzzPSKFileMatchesContract, ties the file reader to it). The
// seeds include keys the controller's old check (16 printable characters) accepted and every
// mover pod then refused.
func FuzzPSKControllerAgreesWithMover(f *testing.F) {
	generated, err := newPSK()
	if err != nil {
		f.Fatal(err)
	}
	hex32 := strings.Repeat("ab", 16)
	for _, seed := range []string{
		generated, generated + "\n", "volsync:" + hex32 + "\r\n", "a:" + hex32 + "\nb:" + hex32,
		"volsync:this-is-not-hex-but-long", "volsync:0123456789abcdef", "volsync:" + hex32 + "a", "no-colon-here",
		"", "\n", ":" + hex32, "a b:" + hex32, strings.Repeat("i", 129) + ":" + hex32, "a:" + hex32 + "\na:" + hex32,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		controllerErr := checkPSK(data)
		_, moverErr := psk.Parse(data)
		if (controllerErr == nil) != (moverErr == nil) {
			t.Fatalf("the controller says %v, the mover says %v", controllerErr, moverErr)
		}
	})
}

func TestGeneratedPSKIsAccepted(t *testing.T) {
	key, err := newPSK()
	lifecycle.Must(t, err)
	if err := checkPSK([]byte(key)); err != nil {
		t.Fatalf("a generated key is refused: %v", err)
	}
}
