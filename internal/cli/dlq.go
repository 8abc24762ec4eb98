package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// dlqCommand returns the `dlq` tree.
func dlqCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, inspect, redrive and purge dead letters",
		Long: `Dead letters are deliveries that gave up: their policy's attempts or age ran
out, the destination refused them for good, or the route's transform failed.
Each is named deadLetters/{sequence} (or just the sequence) and keeps the
delivery, the reason, the attempts and the last error and status.

A redriven dead letter is delivered again with the same delivery id (the
webhook-id receivers dedupe on) and a fresh policy clock, then leaves the DLQ.`,
		Args: cobra.NoArgs,
	}
	o.addPersistentFlags(cmd)
	cmd.AddCommand(dlqListCommand(o), dlqGetCommand(o), dlqRedriveCommand(o), dlqPurgeCommand(o))
	return cmd
}

// dlqFilterFlags select dead letters.
type dlqFilterFlags struct {
	destination, route, reason string
	since, until               string
}

func (f *dlqFilterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.destination, "destination", "", "only this destination adapter")
	fl.StringVar(&f.route, "route", "", "only deliveries of this route id")
	fl.StringVar(&f.reason, "reason", "", "only this reason: permanent, max_attempts, max_age or transform_error")
	fl.StringVar(&f.since, "since", "", "only dead letters stored at or after this time: RFC 3339, or a duration ago such as 2h")
	fl.StringVar(&f.until, "until", "", "only dead letters stored before this time: RFC 3339, or a duration ago")
}

func (f *dlqFilterFlags) filter(now time.Time) (*junctionv1.DeadLetterFilter, error) {
	out := &junctionv1.DeadLetterFilter{Destination: f.destination, RouteId: strings.TrimPrefix(f.route, routePrefix), Reason: f.reason}
	for _, t := range []struct {
		flag, v string
		dst     **timestamppb.Timestamp
	}{{"--since", f.since, &out.StartTime}, {"--until", f.until, &out.EndTime}} {
		if t.v == "" {
			continue
		}
		if d, err := time.ParseDuration(t.v); err == nil {
			*t.dst = timestamppb.New(now.Add(-d))
			continue
		}
		ts, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: give an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (90m): %w", t.flag, t.v, ErrUsage)
		}
		*t.dst = timestamppb.New(ts)
	}
	return out, nil
}

func (f *dlqFilterFlags) set() bool {
	return f.destination != "" || f.route != "" || f.reason != "" || f.since != "" || f.until != ""
}

// deadLetterName accepts "deadLetters/12", "12".
func deadLetterName(arg string) string {
	if strings.HasPrefix(arg, "deadLetters/") {
		return arg
	}
	return "deadLetters/" + arg
}

func dlqListCommand(o *options) *cobra.Command {
	var f dlqFilterFlags
	var limit int32
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first",
		Args:  cobra.NoArgs,
	}
	f.add(cmd)
	cmd.Flags().Int32Var(&limit, "limit", 50, "page size")
	cmd.Flags().BoolVar(&all, "all", false, "follow every page")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		filter, err := f.filter(time.Now())
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		client := junctionv1grpc.NewDeadLetterServiceClient(c.cc)
		res := &junctionv1.ListDeadLettersResponse{}
		token := ""
		for {
			page, err := call(ctx, c, client.ListDeadLetters, &junctionv1.ListDeadLettersRequest{Filter: filter, PageSize: limit, PageToken: token})
			if err != nil {
				return err
			}
			res.DeadLetters = append(res.DeadLetters, page.GetDeadLetters()...)
			res.NextPageToken = page.GetNextPageToken()
			token = page.GetNextPageToken()
			if !all || token == "" {
				break
			}
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "NAME\tDESTINATION\tROUTE\tTARGET\tEVENT\tREASON\tATTEMPTS\tSTATUS\tDEAD-LETTERED\tLAST ERROR")
		for _, d := range res.GetDeadLetters() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.GetName(), cell(d.GetDestination()), cell(d.GetRouteId()), cell(d.GetTarget()),
				cell(d.GetDelivery().GetEventId()), cell(d.GetReason()), d.GetAttempts(), statusCell(d.GetLastStatusCode()),
				formatTime(d.GetDeadLetterTime()), cell(truncateCell(d.GetLastError(), 60)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if res.GetNextPageToken() != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "more: --all, or the API's page_token %s\n", res.GetNextPageToken())
		}
		return nil
	})
	return cmd
}

func statusCell(code int32) string {
	if code == 0 {
		return "-"
	}
	return fmt.Sprint(code)
}

func truncateCell(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func dlqGetCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show one dead letter with its delivery",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := call(ctx, c, junctionv1grpc.NewDeadLetterServiceClient(c.cc).GetDeadLetter, &junctionv1.GetDeadLetterRequest{Name: deadLetterName(args[0])})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res.GetDeadLetter())
		}
		return writeDeadLetter(cmd.OutOrStdout(), res.GetDeadLetter())
	})
	return cmd
}

func writeDeadLetter(w io.Writer, d *junctionv1.DeadLetter) error {
	dl := d.GetDelivery()
	tw := newTable(w)
	for _, r := range [][2]string{
		{"NAME", d.GetName()},
		{"DELIVERY", dl.GetId()},
		{"EVENT", dl.GetEventSource() + "/" + dl.GetEventId() + " (" + dl.GetEventType() + ")"},
		{"DESTINATION", d.GetDestination()},
		{"ROUTE", d.GetRouteId()},
		{"TARGET", d.GetTarget()},
		{"REASON", d.GetReason()},
		{"ATTEMPTS", fmt.Sprint(d.GetAttempts())},
		{"LAST STATUS", statusCell(d.GetLastStatusCode())},
		{"LAST ERROR", d.GetLastError()},
		{"CREATED", formatTime(d.GetCreateTime())},
		{"DEAD-LETTERED", formatTime(d.GetDeadLetterTime())},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], cell(r[1]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "PAYLOAD:")
	fmt.Fprintln(w, indent(formatPayload(dl.GetPayload()), "  "))
	return nil
}

// dlqSelection reads NAME args, filter flags or --all: exactly one.
func dlqSelection(args []string, f *dlqFilterFlags, all bool) ([]string, *junctionv1.DeadLetterFilter, error) {
	n := 0
	for _, b := range []bool{len(args) > 0, f.set(), all} {
		if b {
			n++
		}
	}
	if n != 1 {
		return nil, nil, fmt.Errorf("select dead letters with names, filter flags (--destination, --route, --reason, --since, --until) or --all; exactly one of them: %w", ErrUsage)
	}
	var filter *junctionv1.DeadLetterFilter
	if f.set() {
		var err error
		if filter, err = f.filter(time.Now()); err != nil {
			return nil, nil, err
		}
	}
	names := make([]string, 0, len(args))
	for _, a := range args {
		names = append(names, deadLetterName(a))
	}
	return names, filter, nil
}

func dlqRedriveCommand(o *options) *cobra.Command {
	var f dlqFilterFlags
	var all, rerender bool
	cmd := &cobra.Command{
		Use:   "redrive [NAME...]",
		Short: "Deliver dead letters again, with the same delivery id",
		Long: `Deliver dead letters again: the named ones, those the filter flags select, or
--all. --rerender renders each delivery again from its event with the route's
current definition (target config, transform, policy).`,
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "every dead letter")
	cmd.Flags().BoolVar(&rerender, "rerender", false, "render again with the route's current definition")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		names, filter, err := dlqSelection(args, &f, all)
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := call(ctx, c, junctionv1grpc.NewDeadLetterServiceClient(c.cc).RedriveDeadLetters, &junctionv1.RedriveDeadLettersRequest{
			Names: names, Filter: filter, All: all, Rerender: rerender,
		})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d redriven\n", res.GetRedrivenCount())
		for _, fl := range res.GetFailures() {
			fmt.Fprintf(cmd.OutOrStdout(), "%s not redriven: %s\n", fl.GetName(), fl.GetError())
		}
		if len(res.GetFailures()) > 0 {
			return fmt.Errorf("%d dead letters not redriven; they stay in the DLQ", len(res.GetFailures()))
		}
		return nil
	})
	return cmd
}

func dlqPurgeCommand(o *options) *cobra.Command {
	var f dlqFilterFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "purge [NAME...]",
		Short: "Delete dead letters for good",
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "every dead letter")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		names, filter, err := dlqSelection(args, &f, all)
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := call(ctx, c, junctionv1grpc.NewDeadLetterServiceClient(c.cc).PurgeDeadLetters, &junctionv1.PurgeDeadLettersRequest{
			Names: names, Filter: filter, All: all,
		})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d purged\n", res.GetPurgedCount())
		return nil
	})
	return cmd
}

// eventsDeliveriesCommand returns `events deliveries`.
func eventsDeliveriesCommand(o *options) *cobra.Command {
	var source string
	var attempts bool
	cmd := &cobra.Command{
		Use:   "deliveries ID",
		Short: "Show each delivery of an event: state and attempts",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&source, "source", "", "source of the event, when several sources used the id")
	cmd.Flags().BoolVar(&attempts, "attempts", false, "list every attempt under its delivery")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		name, err := eventName(args[0])
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := call(ctx, c, junctionv1grpc.NewDeliveryServiceClient(c.cc).ListEventDeliveries, &junctionv1.ListEventDeliveriesRequest{Parent: name, Source: source})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		tw := newTable(cmd.OutOrStdout())
		fmt.Fprintln(tw, "DELIVERY\tDESTINATION\tROUTE\tTARGET\tSTATE\tATTEMPTS\tNEXT ATTEMPT")
		for _, d := range res.GetDeliveries() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.GetDeliveryId(), cell(d.GetDestination()), cell(d.GetRouteId()), cell(d.GetTarget()),
				stateName(d.GetState()), d.GetAttemptCount(), cell(formatTime(d.GetNextAttemptTime())))
			if attempts {
				for _, a := range d.GetAttempts() {
					fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.GetAttempt(), formatTime(a.GetTime()), statusCell(a.GetStatusCode()),
						a.GetLatency().AsDuration().Round(time.Millisecond), stateName(a.GetOutcome()), cell(truncateCell(a.GetError(), 60)), cell(truncateCell(a.GetResponseExcerpt(), 40)))
				}
			}
		}
		return tw.Flush()
	})
	return cmd
}

func stateName(s junctionv1.DeliveryState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DELIVERY_STATE_"))
}

// eventsResendCommand returns `events resend`.
func eventsResendCommand(o *options) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "resend ID",
		Short: "Route a stored event again through the current routes",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&source, "source", "", "source of the event, when several sources used the id")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		name, err := eventName(args[0])
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := call(ctx, c, junctionv1grpc.NewDeliveryServiceClient(c.cc).ResendEvent, &junctionv1.ResendEventRequest{Name: name, Source: source})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d deliveries resent: %s\n", len(res.GetDeliveryIds()), strings.Join(res.GetDeliveryIds(), ", "))
		return nil
	})
	return cmd
}
