package hubspot

import (
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// newVerifier checks HubSpot's v3 signature: the base64 HMAC-SHA256 of
// method + URI + body + timestamp, the timestamp in Unix milliseconds.
// publicURL is Config.PublicURL; now nil is the real clock.
func newVerifier(secrets []string, publicURL string, tolerance time.Duration, now func() time.Time) *verify.HMAC {
	return &verify.HMAC{
		Header:          HeaderSignature,
		Encoding:        verify.Base64,
		TimestampHeader: HeaderTimestamp,
		TimestampMillis: true,
		Secrets:         secrets,
		Signed:          []verify.Part{verify.Method, signedURI(publicURL), verify.Body, verify.Timestamp},
		SignedAs:        `"<method><URI HubSpot called><body><X-HubSpot-Request-Timestamp>"`,
		Tolerance:       tolerance,
		Now:             now,
	}
}

// signedURI is the URI part of the v3 signature: the URL HubSpot called,
// as publicURL (or the request's own scheme and Host) followed by the
// request target as received, with the characters HubSpot decodes
// before signing decoded.
func signedURI(publicURL string) verify.Part {
	base := strings.TrimSuffix(publicURL, "/")
	return func(dst []byte, m *verify.Message) []byte {
		return appendDecoded(dst, calledURI(m, base))
	}
}

// calledURI rebuilds the URL HubSpot called.
func calledURI(m *verify.Message, base string) string {
	r := m.Request
	target := r.RequestURI // as received, before any handler rewrote URL
	if target == "" {
		target = r.URL.RequestURI()
	}
	if !strings.HasPrefix(target, "/") {
		// Absolute form (a proxy's request line): it is the URL itself.
		return target
	}
	if base != "" {
		return base + target
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + target
}

// decoded lists the percent-encodings HubSpot decodes in the URI before
// it signs (its request validation guide); every other encoding, and
// %25 in particular, stays as sent.
var decoded = map[string]byte{
	"3A": ':', "2F": '/', "3F": '?', "40": '@', "21": '!', "24": '$',
	"27": '\'', "28": '(', "29": ')', "2A": '*', "2C": ',', "3B": ';',
}

// appendDecoded appends uri to dst with the encodings of decoded
// replaced by their characters (hex digits in either case), in one pass:
// a decoded character never starts another encoding.
func appendDecoded(dst []byte, uri string) []byte {
	for i := 0; i < len(uri); i++ {
		if uri[i] == '%' && i+2 < len(uri) {
			if c, ok := decoded[strings.ToUpper(uri[i+1:i+3])]; ok {
				dst = append(dst, c)
				i += 2
				continue
			}
		}
		dst = append(dst, uri[i])
	}
	return dst
}
