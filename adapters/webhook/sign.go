package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
	"time"
)

// deliverySigner signs outbound deliveries with Standard Webhooks: "v1,"
// and the base64 HMAC-SHA256, keyed with the secret, of
// "<webhook-id>.<timestamp>.<payload>". It computes what
// standardwebhooks.Webhook.Sign does, which receivers verify, but reuses
// its HMAC state and buffer: that one formats the signed content with fmt
// (copying the payload twice) and builds a new HMAC for every delivery,
// about 3 KiB of garbage each. Safe for concurrent use.
type deliverySigner struct {
	states sync.Pool // *signState
}

type signState struct {
	mac hash.Hash
	buf []byte
}

func newDeliverySigner(key []byte) *deliverySigner {
	key = append([]byte(nil), key...)
	s := &deliverySigner{}
	s.states.New = func() any { return &signState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)} }
	return s
}

// Sign returns the webhook-signature header value of payload sent as
// webhook-id id at timestamp t.
func (s *deliverySigner) Sign(id string, t time.Time, payload []byte) string {
	st := s.states.Get().(*signState)
	defer s.states.Put(st)
	st.mac.Reset()
	b := append(st.buf[:0], id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	st.mac.Write(b)
	st.mac.Write(payload)
	b = st.mac.Sum(b[:0])
	n := len(b)
	b = append(b, "v1,"...)
	b = base64.StdEncoding.AppendEncode(b, b[:n])
	sig := string(b[n:])
	st.buf = b[:0]
	return sig
}
