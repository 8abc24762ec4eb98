package webhook

import (
	"context"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk"
)

// recordRejection counts a rejected request for
// junction_webhook_rejections_total. The source label is the configured
// source name, or "unknown" when the URL named none (so a scanner cannot
// invent label values).
func recordRejection(ctx context.Context, name string, known bool, rej *rejection) {
	if !known {
		name = "unknown"
	}
	sdk.RecordWebhookRejection(ctx, name, rejectionReason(rej))
}

// rejectionReason is a fixed word for a rejection.
func rejectionReason(rej *rejection) string {
	switch rej.code {
	case http.StatusNotFound:
		return "unknown_source"
	case http.StatusMethodNotAllowed:
		return "method"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnauthorized:
		if strings.Contains(rej.message, "tolerance") {
			return "timestamp"
		}
		return "signature"
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusRequestTimeout:
		return "timeout"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusUnsupportedMediaType:
		return "content_type"
	}
	return "other"
}
