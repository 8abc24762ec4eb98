package cli

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// maxRateRetries bounds the retries of a rate-limited call; maxRateWait is
// the longest retry-after the CLI waits for.
const (
	maxRateRetries = 5
	maxRateWait    = 30 * time.Second
)

// callOnce makes one attempt; wait is the retry-after of a rate-limited
// answer, 0 otherwise.
func callOnce[Req, Resp any](ctx context.Context, c *conn, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, time.Duration, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var hdr, trl metadata.MD
	resp, err := rpc(ctx, req, grpc.Header(&hdr), grpc.Trailer(&trl))
	if status.Code(err) != codes.ResourceExhausted {
		return resp, 0, err
	}
	for _, v := range [][]string{hdr.Get("retry-after"), trl.Get("retry-after")} {
		if len(v) == 0 {
			continue
		}
		if secs, perr := strconv.Atoi(v[0]); perr == nil && secs > 0 && time.Duration(secs)*time.Second <= maxRateWait {
			return resp, time.Duration(secs) * time.Second, err
		}
	}
	return resp, 0, err
}
