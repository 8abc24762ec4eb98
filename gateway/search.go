package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Event search bounds.
const (
	defaultEventPage = 50
	maxEventPage     = 1000
	// maxSearchScan is the most stored events one ListEvents call reads;
	// a search that matches few of many events goes on in the next page.
	maxSearchScan = 200_000
	// maxChunkSpan is the widest range of sequences read at once.
	maxChunkSpan = 1 << 16
	// maxSearchCall is the longest one ListEvents call reads, and
	// searchMargin what it keeps before the caller's deadline to answer.
	maxSearchCall = 20 * time.Second
	searchMargin  = 500 * time.Millisecond
)

// pageToken is the decoded form of ListEvents' and ReplayEvents' opaque
// page tokens.
type pageToken struct {
	// Seq is where to go on: for a search the sequence below which to
	// continue (newest first), for a replay the next sequence to read.
	Seq uint64 `json:"s"`
	// Hi is a replay's last sequence.
	Hi uint64 `json:"h,omitempty"`
	// Replay is a replay's id.
	Replay string `json:"r,omitempty"`
	// Filter is a hash of the request the token belongs to.
	Filter uint64 `json:"f"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, filter uint64) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Seq == 0 {
		return t, invalid("page_token", "not a token this call returned: pass next_page_token as it came")
	}
	if t.Filter != filter {
		return t, invalid("page_token", "the token belongs to a request with another filter: send the same filter with it, or leave the token out to start over")
	}
	return t, nil
}

// hashOf is a hash of the messages that a page token belongs to.
func hashOf(ms ...proto.Message) uint64 {
	h := fnv.New64a()
	for _, m := range ms {
		if m == nil {
			h.Write([]byte{0})
			continue
		}
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		h.Write(b)
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// ListEvents searches EVENTS newest first. It reads backwards in chunks of
// sequences: each chunk is read forward by one consumer that the server
// filters by subject, the events passing the rest of the filter are kept
// (at most as many as the page still needs, the newest of the chunk), and
// the next chunk ends below it. A chunk that yields less than the page
// needs makes the next one four times as wide, up to maxChunkSpan. The
// call stops when the page is full, the time range or the stream is
// exhausted, it read maxSearchScan events, or its time is up (half a
// second before the caller's deadline, maxSearchCall at the most); the
// page token is the sequence to continue below.
func (s *Server) ListEvents(ctx context.Context, req *junctionv1.ListEventsRequest) (*junctionv1.ListEventsResponse, error) {
	sel, err := newSelector(req.GetFilter(), "filter.")
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, invalid("page_size", "%d is negative: give 1 to %d, or 0 for %d", size, maxEventPage, defaultEventPage)
	case size == 0:
		size = defaultEventPage
	case size > maxEventPage:
		size = maxEventPage
	}
	release, err := s.scanSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	fh := hashOf(req.GetFilter())
	lo, hi, ok, err := s.bounds(ctx, sel)
	if err != nil {
		return nil, s.toStatus(ctx, "list events", err)
	}
	if req.GetPageToken() != "" {
		t, err := decodeToken(req.GetPageToken(), fh)
		if err != nil {
			return nil, err
		}
		hi = min(hi, t.Seq)
	}
	res := &junctionv1.ListEventsResponse{}
	if !ok || hi < lo {
		return res, nil
	}
	// Answer in time: before the caller's deadline, and after
	// maxSearchCall at the most, with what was found and a token.
	stopAt := s.now().Add(maxSearchCall)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-searchMargin).Before(stopAt) {
		stopAt = dl.Add(-searchMargin)
	}
	work, cancel := context.WithDeadline(ctx, stopAt)
	defer cancel()
	span := uint64(max(4*size, 256))
	for len(res.Events) < size {
		if res.Scanned >= maxSearchScan {
			res.NextPageToken = pageToken{Seq: hi, Filter: fh}.encode()
			break
		}
		clo := lo
		if hi-lo+1 > span {
			clo = hi - span + 1
		}
		need := size - len(res.Events)
		// ring keeps the newest `need` matches of the chunk.
		ring, count := make([]storedEvent, need), 0
		n, err := s.scan(work, sel.subject, clo, hi, func(se storedEvent) error {
			if sel.match(se.event) {
				ring[count%need] = se
				count++
			}
			return nil
		})
		res.Scanned += n
		if err != nil && ctx.Err() == nil && work.Err() != nil {
			// Out of time in this chunk: its matches cannot be shown
			// before the rest of it is read, so the next call reads it
			// again.
			res.NextPageToken = pageToken{Seq: hi, Filter: fh}.encode()
			break
		}
		if err != nil {
			return nil, s.toStatus(ctx, "list events", err)
		}
		kept := ring[:min(count, need)]
		if count > need {
			kept = append(slices.Clone(ring[count%need:]), ring[:count%need]...)
		}
		for i := len(kept) - 1; i >= 0; i-- {
			res.Events = append(res.Events, kept[i].event)
		}
		if len(res.Events) == size {
			// Go on below the oldest event returned: the chunk may hold
			// older matches.
			if next := kept[0].seq; next > lo {
				res.NextPageToken = pageToken{Seq: next - 1, Filter: fh}.encode()
			}
			break
		}
		if clo == lo {
			break
		}
		hi = clo - 1
		if len(kept) < need {
			span = min(span*4, maxChunkSpan)
		}
	}
	return res, nil
}
