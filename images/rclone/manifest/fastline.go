package manifest

import (
	"encoding/base64"
	"unicode/utf8"
)

// parseLine decodes one entry line the way json.Unmarshal does, for the lines Encode writes:
// an object without whitespace whose keys are line's, with strings without escapes. It
// reports false for anything else (an escaped string, an unknown key, a syntax error), and the
// caller then uses json.Unmarshal, which decodes or rejects it. A manifest holds one line per
// entry of the volume: this is five times faster than encoding/json's reflection, which was
// the largest part of a destination's overhead.
func parseLine(b []byte, l *line) bool {
	p := parser{b: b}
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return p.done()
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		switch string(key) {
		case "p":
			ok = p.text(&l.P)
		case "pb":
			l.PB, ok = p.b64()
		case "t":
			var t string
			ok = p.text(&t)
			l.T = Type(t)
		case "m":
			l.M, ok = p.uint32()
		case "u":
			l.U, ok = p.uint32()
		case "g":
			l.G, ok = p.uint32()
		case "mt":
			l.MT, ok = p.int64()
		case "s":
			l.S, ok = p.int64()
		case "l":
			ok = p.text(&l.L)
		case "lb":
			l.LB, ok = p.b64()
		case "x":
			l.X, ok = p.xattrs()
		default:
			return false
		}
		if !ok {
			return false
		}
		if p.byte('}') {
			return p.done()
		}
		if !p.byte(',') {
			return false
		}
	}
}

type parser struct {
	b []byte
	i int
}

func (p *parser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) done() bool { return p.i == len(p.b) }

// str reads a string without escapes or control characters, in valid UTF-8.
func (p *parser) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

func (p *parser) text(dst *string) bool {
	s, ok := p.str()
	if ok {
		*dst = string(s)
	}
	return ok
}

// b64 reads a byte string (base64 in a JSON string, as encoding/json writes []byte).
func (p *parser) b64() ([]byte, bool) {
	s, ok := p.str()
	if !ok {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, s)
	return out[:n], err == nil
}

// digits reads an integer's sign and digits: a JSON number without fraction or exponent.
func (p *parser) digits() (neg bool, v uint64, ok bool) {
	neg = p.byte('-')
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		d := uint64(p.b[p.i] - '0')
		if v > (1<<64-1-d)/10 {
			return false, 0, false
		}
		v = v*10 + d
		p.i++
	}
	n := p.i - start
	if n == 0 || (n > 1 && p.b[start] == '0') {
		return false, 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return false, 0, false
	}
	return neg, v, true
}

func (p *parser) uint32() (uint32, bool) {
	neg, v, ok := p.digits()
	if !ok || neg || v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

func (p *parser) int64() (int64, bool) {
	neg, v, ok := p.digits()
	switch {
	case !ok:
		return 0, false
	case neg && v <= 1<<63:
		return -int64(v-1) - 1, true
	case !neg && v <= 1<<63-1:
		return int64(v), true
	}
	return 0, false
}

// xattrs reads the attributes object: names to byte strings.
func (p *parser) xattrs() (map[string][]byte, bool) {
	if !p.byte('{') {
		return nil, false
	}
	out := map[string][]byte{}
	if p.byte('}') {
		return out, true
	}
	for {
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		v, ok := p.b64()
		if !ok {
			return nil, false
		}
		out[string(name)] = v
		if p.byte('}') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}
