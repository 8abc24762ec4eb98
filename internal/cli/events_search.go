package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// eventFilterFlags select stored events: `events list` and `events replay`.
type eventFilterFlags struct {
	source, typ, pattern, condition string
	since, until                    string
}

func (f *eventFilterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "only events from this source, e.g. shopify")
	fl.StringVar(&f.typ, "type", "", "only events of this type, e.g. order.created")
	fl.StringVar(&f.pattern, "subject", "", "only events whose subject matches this pattern, as a route filter: acme.user.*, jira.>")
	fl.StringVar(&f.condition, "where", "", "only events this CEL expression over event and data is true for, e.g. 'data.total > 100'")
	fl.StringVar(&f.since, "since", "", "only events stored at or after this time: RFC 3339, or a duration ago such as 2h")
	fl.StringVar(&f.until, "until", "", "only events stored before this time: RFC 3339, or a duration ago")
}

func (f *eventFilterFlags) filter(now time.Time) (*junctionv1.EventFilter, error) {
	out := &junctionv1.EventFilter{Source: f.source, Type: f.typ, SubjectPattern: f.pattern, Condition: f.condition}
	for _, t := range []struct {
		flag, v string
		dst     **timestamppb.Timestamp
	}{{"--since", f.since, &out.StartTime}, {"--until", f.until, &out.EndTime}} {
		ts, err := parseWhen(t.flag, t.v, now)
		if err != nil {
			return nil, err
		}
		*t.dst = ts
	}
	return out, nil
}

// parseWhen reads an RFC 3339 time or a duration ago; nil for "".
func parseWhen(flag, v string, now time.Time) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return timestamppb.New(now.Add(-d)), nil
	}
	ts, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("%s %q: give an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (90m): %w", flag, v, ErrUsage)
	}
	return timestamppb.New(ts), nil
}

// eventsListCommand returns `events list`.
func eventsListCommand(o *options) *cobra.Command {
	var f eventFilterFlags
	var limit int32
	var token string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Search stored events, newest first",
		Long: `Search the stored events, newest first, by source, type, subject pattern,
time range and a CEL condition (--where, the language of route conditions).

It shows up to --limit events and, when more may match, the token to go on
with (--page-token). A search over many stored events with a filter that
matches few reads them in bounded steps: it may show fewer than --limit
events with a token to continue.`,
		Example: `  junction events list --source shopify --since 1h
  junction events list --subject 'acme.user.*' --where 'data.plan == "enterprise"'`,
		Args: cobra.NoArgs,
	}
	f.add(cmd)
	cmd.Flags().Int32Var(&limit, "limit", 50, "show at most this many events (at most 1000)")
	cmd.Flags().StringVar(&token, "page-token", "", "go on from a previous list's token (same filter)")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		if limit < 1 || limit > 1000 {
			return fmt.Errorf("--limit %d: give 1 to 1000: %w", limit, ErrUsage)
		}
		filter, err := f.filter(time.Now())
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		client := junctionv1grpc.NewEventServiceClient(c.cc)
		res := &junctionv1.ListEventsResponse{}
		// A page may come back short with a token (the gateway reads a
		// bounded number of events per call): go on until --limit.
		for calls := 0; ; calls++ {
			page, err := call(ctx, c, client.ListEvents, &junctionv1.ListEventsRequest{Filter: filter, PageSize: limit - int32(len(res.Events)), PageToken: token})
			if err != nil {
				return err
			}
			res.Events = append(res.Events, page.GetEvents()...)
			res.Scanned += page.GetScanned()
			res.NextPageToken = page.GetNextPageToken()
			token = page.GetNextPageToken()
			if token == "" || int32(len(res.Events)) >= limit || calls >= 20 {
				break
			}
		}
		if o.output != formatTable {
			for _, e := range res.Events {
				e.DataJson = nil // data shows as JSON already in structured output
			}
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		w := cmd.OutOrStdout()
		tw := newTable(w)
		fmt.Fprintln(tw, "RECEIVED\tID\tSOURCE\tTYPE\tSUBJECT")
		for _, e := range res.GetEvents() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(e.GetReceiveTime()), cell(e.GetId()), cell(e.GetSource()), cell(e.GetType()), cell(e.GetSubject()))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(res.GetEvents()) == 0 {
			fmt.Fprintf(w, "no events (%d read)\n", res.GetScanned())
		}
		if res.GetNextPageToken() != "" {
			fmt.Fprintf(w, "more: --page-token %s\n", res.GetNextPageToken())
		}
		return nil
	})
	return cmd
}

// eventsReplayCommand returns `events replay`.
func eventsReplayCommand(o *options) *cobra.Command {
	var f eventFilterFlags
	var route, shadowDest, shadowURL, shadowTransform, token string
	var allRoutes, dryRun, once bool
	var rate float64
	var maxEvents int32
	cmd := &cobra.Command{
		Use:   "replay --since T (--route ID | --all-routes | --shadow DESTINATION) [--dry-run]",
		Short: "Send stored events again through a route, every route or a shadow target",
		Long: `Replay the stored events the filter takes, oldest first, through one route
(--route), every enabled route (--all-routes) or into a shadow target
(--shadow DESTINATION, with --shadow-url and --shadow-transform), at most
--rate events per second. --dry-run lists what would be delivered and sends
nothing.

Through a route a replayed delivery keeps the id of the event's delivery by
that target (the webhook-id), so a receiver that dedupes takes an event once;
each carries the replay id (header Junction-Replay-Id) and the original
event id (Junction-Event-Id), and its trace links to the event's.

Each call to the gateway is bounded (--timeout, at most 50s, and
--max-events); the command goes on with the token the gateway returns until
the replay is done, unless --once.`,
		Example: `  junction events replay --since 2h --subject 'shopify.order.*' --route orders-to-erp --dry-run
  junction events replay --since 2026-06-20T10:00:00Z --until 2026-06-20T11:00:00Z --all-routes --rate 50
  junction events replay --since 1h --shadow webhook --shadow-url https://staging.example.com/hook`,
		Args: cobra.NoArgs,
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&route, "route", "", "replay through this route id")
	fl.BoolVar(&allRoutes, "all-routes", false, "replay through every enabled route")
	fl.StringVar(&shadowDest, "shadow", "", "replay into a target of this destination adapter instead of a route")
	fl.StringVar(&shadowURL, "shadow-url", "", "the shadow target's url (its config url)")
	fl.StringVar(&shadowTransform, "shadow-transform", "", "CEL transform of the shadow target (default: the original payload)")
	fl.BoolVar(&dryRun, "dry-run", false, "list what would be delivered, deliver nothing")
	fl.Float64Var(&rate, "rate", 0, "events per second at most (default 10, at most 1000)")
	fl.Int32Var(&maxEvents, "max-events", 0, "events per call to the gateway (default 1000, at most 10000)")
	fl.StringVar(&token, "page-token", "", "go on with a replay that stopped (same filter and destination)")
	fl.BoolVar(&once, "once", false, "make one call and print the token to go on with, if any")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		if f.since == "" && token == "" {
			return fmt.Errorf("--since is required: the time from which to replay, e.g. --since 2h: %w", ErrUsage)
		}
		req := &junctionv1.ReplayEventsRequest{DryRun: dryRun, Rate: rate, MaxEvents: maxEvents, PageToken: token}
		n := 0
		if route != "" {
			n++
			req.Through = &junctionv1.ReplayEventsRequest_Route{Route: routePrefix + strings.TrimPrefix(route, routePrefix)}
		}
		if allRoutes {
			n++
			req.Through = &junctionv1.ReplayEventsRequest_AllRoutes{AllRoutes: true}
		}
		if shadowDest != "" {
			n++
			t := &junctionv1.Target{Destination: shadowDest, Transform: shadowTransform}
			if shadowURL != "" {
				t.Config = map[string]string{"url": shadowURL}
			}
			req.Through = &junctionv1.ReplayEventsRequest_Shadow{Shadow: t}
		} else if shadowURL != "" || shadowTransform != "" {
			return fmt.Errorf("--shadow-url and --shadow-transform go with --shadow DESTINATION: %w", ErrUsage)
		}
		if n != 1 {
			return fmt.Errorf("say where the events go: exactly one of --route ID, --all-routes or --shadow DESTINATION: %w", ErrUsage)
		}
		filter, err := f.filter(time.Now())
		if err != nil {
			return err
		}
		req.Filter = filter
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		client := junctionv1grpc.NewEventServiceClient(c.cc)
		w := cmd.OutOrStdout()
		total := &junctionv1.ReplayEventsResponse{DryRun: dryRun}
		for {
			res, err := call(ctx, c, client.ReplayEvents, req)
			if err != nil {
				if total.GetReplayId() != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "replay %s stopped after %d events; go on with --page-token %s\n", total.GetReplayId(), total.GetEventsMatched(), req.GetPageToken())
				}
				return err
			}
			total.ReplayId = res.GetReplayId()
			total.EventsMatched += res.GetEventsMatched()
			total.Deliveries += res.GetDeliveries()
			total.Items = append(total.Items, res.GetItems()...)
			total.NextPageToken = res.GetNextPageToken()
			if o.output == formatTable {
				writeReplayItems(w, res.GetItems(), dryRun, total.GetEventsMatched() == res.GetEventsMatched())
			}
			if res.GetNextPageToken() == "" || once {
				break
			}
			req.PageToken = res.GetNextPageToken()
		}
		if o.output != formatTable {
			return writeStructured(w, o.output, total)
		}
		what := "replayed"
		if dryRun {
			what = "dry run: would send"
		}
		fmt.Fprintf(w, "replay %s %s %d deliveries of %d events\n", total.GetReplayId(), what, total.GetDeliveries(), total.GetEventsMatched())
		if total.GetNextPageToken() != "" {
			fmt.Fprintf(w, "more: --page-token %s\n", total.GetNextPageToken())
		}
		return nil
	})
	return cmd
}

// writeReplayItems prints a replay's deliveries, with the header first.
func writeReplayItems(w io.Writer, items []*junctionv1.ReplayedDelivery, dryRun, header bool) {
	tw := newTable(w)
	if header {
		fmt.Fprintln(tw, "EVENT\tSOURCE\tTYPE\tROUTE\tTARGET\tDESTINATION\tDELIVERY\tERROR")
	}
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(it.GetEventId()), cell(it.GetEventSource()), cell(it.GetEventType()),
			cell(it.GetRouteId()), cell(it.GetTarget()), cell(it.GetDestination()), cell(it.GetDeliveryId()), cell(truncateCell(it.GetError(), 60)))
	}
	_ = tw.Flush()
}

// eventsTailCommand returns `events tail`.
func eventsTailCommand(o *options) *cobra.Command {
	var condition string
	var after uint64
	cmd := &cobra.Command{
		Use:   "tail PATTERN",
		Short: "Follow the events stored from now on",
		Long: `Follow the events stored from now on whose subject matches PATTERN (a route
filter: acme.user.*, shopify.>, or > for every event), and --where a CEL
condition holds, until interrupted. Each line starts with the event's
EVENTS sequence: --after SEQ resumes a tail after that event, sending the
matching events stored since first. When the hub drops the tail (a
restart, a lost connection) it reconnects by itself and resumes after the
last event shown, trying for up to 2 minutes. -o json writes one JSON
event per line.`,
		Example: `  junction events tail '>'
  junction events tail 'shopify.order.*' --where 'data.total_price > 100'
  junction events tail '>' --after 1842`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&condition, "where", "", "only events this CEL expression over event and data is true for")
	cmd.Flags().Uint64Var(&after, "after", 0, "resume after this EVENTS sequence (the first column of a tail's line): the events stored since come first")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		t := &tail{o: o, cmd: cmd, pattern: args[0], condition: condition, last: after,
			client: junctionv1grpc.NewEventServiceClient(c.cc)}
		// No --timeout: a tail lasts until interrupted. A tail the hub
		// drops (a restart, a lost connection) is taken up again after
		// the last event it showed, so nothing stored meanwhile is missed.
		var down time.Time
		wait := tailRetryMin
		for {
			err := t.follow(ctx)
			if ctx.Err() != nil || status.Code(err) == codes.Canceled {
				return nil
			}
			if !t.started || !tailResumable(err) {
				return c.wrap(err) // never up, or refused: nothing to take up
			}
			if t.got { // the call that ended had been up: a new outage
				down, wait = time.Now(), tailRetryMin
				fmt.Fprintf(cmd.ErrOrStderr(), "tail interrupted (%s); reconnecting%s\n", status.Convert(err).Message(), t.resumeNote())
			} else if time.Since(down) > tailGiveUp {
				return c.wrap(fmt.Errorf("the tail could not be taken up again within %s: %w", tailGiveUp, err))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, tailRetryMax)
		}
	})
	return cmd
}

// How `events tail` takes up a dropped tail: retries from tailRetryMin,
// doubling up to tailRetryMax, until one is answered or tailGiveUp has
// passed since the tail dropped.
const (
	tailRetryMin = 250 * time.Millisecond
	tailRetryMax = 5 * time.Second
	tailGiveUp   = 2 * time.Minute
)

// tail is one `events tail` run: what it follows, and the sequence of the
// last event it showed, which a reconnection resumes after.
type tail struct {
	o                  *options
	cmd                *cobra.Command
	pattern, condition string
	client             junctionv1grpc.EventServiceClient
	last               uint64 // the last event shown (or --after)
	started            bool   // "following" was said
	got                bool   // the current call got its first message
}

// tailResumable says whether a tail that ended with err is worth taking
// up again: the gateway went away or ended the stream, not a refusal.
func tailResumable(err error) bool {
	return errors.Is(err, io.EOF) || status.Code(err) == codes.Unavailable
}

// resumeNote says where a reconnected tail picks up.
func (t *tail) resumeNote() string {
	if t.last == 0 {
		return " (no event shown yet: from when it is back)"
	}
	return fmt.Sprintf(" after sequence %d", t.last)
}

// follow runs one TailEvents call, resuming after t.last, and prints its
// events until the call ends, with the error that ended it (io.EOF when
// the gateway closed it).
func (t *tail) follow(ctx context.Context) error {
	t.got = false
	stream, err := t.client.TailEvents(ctx, &junctionv1.TailEventsRequest{SubjectPattern: t.pattern, Condition: t.condition, AfterSequence: t.last})
	if err != nil {
		return err
	}
	w := t.cmd.OutOrStdout()
	line := protojson.MarshalOptions{UseProtoNames: true}
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		if !t.got && t.started {
			fmt.Fprintf(t.cmd.ErrOrStderr(), "following %s again%s\n", t.pattern, t.resumeNote())
		}
		t.got = true
		if m.GetEvent() == nil { // a heartbeat
			if !t.started && t.o.output == formatTable {
				fmt.Fprintf(t.cmd.ErrOrStderr(), "following %s (interrupt to stop)\n", t.pattern)
			}
			t.started = true
			continue
		}
		t.last = m.GetSequence()
		e := m.GetEvent()
		if t.o.output != formatTable {
			e = proto.Clone(e).(*junctionv1.Event)
			e.DataJson = nil
			b, err := line.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		fmt.Fprintf(w, "%d  %s  %s  %s/%s  %s  %s\n", m.GetSequence(), formatTime(e.GetReceiveTime()), e.GetId(), e.GetSource(), e.GetType(), quoteIfEmpty(e.GetSubject()), oneLinePayload(e.GetData()))
	}
}

// oneLinePayload is the start of a payload on one line.
func oneLinePayload(b []byte) string {
	s := strings.Join(strings.Fields(formatPayload(b)), " ")
	return truncateCell(s, 120)
}
