package webhook

import (
	"fmt"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// newVerifier builds the signature verifier of a source from its config
// (with defaults applied) and resolved secrets: the current one, then
// the one being rotated out.
func newVerifier(cfg SourceConfig, secrets []string) (verify.Verifier, error) {
	switch cfg.Scheme {
	case SchemeStandardWebhooks:
		for i, s := range secrets {
			if _, err := verify.DecodeStandardSecret(s); err != nil {
				if i > 0 {
					return nil, fmt.Errorf("previous: %w", err)
				}
				return nil, err // the message without the verifier's prefix
			}
		}
		v, err := verify.NewStandardWebhooks(secrets...)
		if err != nil {
			return nil, err
		}
		v.Tolerance = cfg.Tolerance
		return v, nil
	default: // SchemeHMACSHA256, checked by Validate
		v := &verify.HMAC{
			Header:    cfg.SignatureHeader,
			Secrets:   secrets,
			Parse:     optionalPrefix("sha256="),
			Tolerance: cfg.Tolerance,
		}
		if cfg.TimestampHeader != "" {
			v.TimestampHeader = cfg.TimestampHeader
			v.Signed = []verify.Part{verify.Timestamp, verify.Literal("."), verify.Body}
			v.SignedAs = `"<` + cfg.TimestampHeader + `>.<body>"`
		}
		return v, nil
	}
}

// optionalPrefix reads a header holding one signature that may start
// with prefix, as the hmac-sha256 scheme has always accepted.
func optionalPrefix(prefix string) verify.HeaderParser {
	return func(value string) (string, []string, error) {
		return "", []string{strings.TrimPrefix(value, prefix)}, nil
	}
}
