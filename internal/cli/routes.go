package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk/platform/deliverypolicy"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// maxPageSize is the largest page the gateway serves.
const maxPageSize = 1000

// routesCommand returns the `routes` tree.
func routesCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "Manage routes: which events go where",
		Long: `Manage routes through the gateway.

A route file is YAML (several documents separated by ---) or JSON, one route
per document, in the API's JSON shape with snake_case names:

  id: jira-to-slack
  description: New Jira issues to the team channel
  filter: jira.issue.created
  condition: data.issue.fields.priority.name == "High"
  targets:
    - name: slack
      destination: slack
      action: chat.postMessage
      transform: '{"channel": "#ops", "text": data.issue.key}'
  policy:
    max_attempts: 5
    initial_backoff: 2s
  enabled: true`,
		Args: cobra.NoArgs,
	}
	o.addPersistentFlags(cmd)
	cmd.AddCommand(
		routesApplyCommand(o),
		routesGetCommand(o),
		routesListCommand(o),
		routesDeleteCommand(o),
		routesTestCommand(o),
	)
	return cmd
}

// routeIDArg accepts "id", "routes/id" and "route/id" (as apply prints it).
func routeIDArg(arg string) (string, error) {
	id := strings.TrimPrefix(strings.TrimPrefix(arg, routePrefix), "route/")
	if !routeIDPattern.MatchString(id) {
		return "", fmt.Errorf("route id %q: want 1 to 63 of a-z, 0-9 and -, starting with a letter: %w", arg, ErrUsage)
	}
	return id, nil
}

// routesApplyCommand returns `routes apply`.
func routesApplyCommand(o *options) *cobra.Command {
	var (
		files  []string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f PATH [-f PATH...]",
		Short: "Create or update routes from files",
		Long: `Create or update routes from files, like kubectl apply.

PATH is a .yaml, .yml or .json file, a folder of them (not recursive, in name
order) or - for standard input. Every document is checked before anything is
sent. Then each route is created when it does not exist, left alone when it
is already the same, and updated otherwise; a line says which:

  route/jira-to-slack created
  route/orders configured
  route/audit unchanged

An update is made against the revision just read, or against the file's own
revision when it has one, so a change made by someone else in between is
refused rather than overwritten.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "route file or folder (repeatable; - for standard input)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "have the gateway check each change without storing it")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		srcs, err := readSources(files, cmd.InOrStdin())
		if err != nil {
			return err
		}
		docs, err := parseRoutes(srcs, true, "")
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		return applyRoutes(ctx, cmd.OutOrStdout(), o.output, c, docs, dryRun)
	})
	return cmd
}

// Outcomes of applying one route.
const (
	created    = "created"
	configured = "configured"
	unchanged  = "unchanged"
)

// applyRoutes applies each route in order. A route the gateway refuses does
// not stop the others; all errors are returned together. An unreachable
// gateway stops at once.
func applyRoutes(ctx context.Context, w io.Writer, format string, c *conn, docs []routeDoc, dryRun bool) error {
	rc := junctionv1grpc.NewRouteServiceClient(c.cc)
	suffix := ""
	if dryRun {
		suffix = " (dry run)"
	}
	var (
		errs    []error
		applied []*junctionv1.Route
	)
	for _, d := range docs {
		r, outcome, err := applyRoute(ctx, c, rc, d, dryRun)
		if err != nil {
			if errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
				return err
			}
			if status.Code(err) == codes.Aborted && d.route.GetRevision() != 0 {
				err = fmt.Errorf("the file sets revision %d, which is not current (remove it to apply over the stored route): %w", d.route.GetRevision(), err)
			}
			errs = append(errs, fmt.Errorf("%s: route/%s: %w", d.where, d.id, err))
			continue
		}
		if r == nil {
			r = d.route // a gateway that answers without the route
		}
		applied = append(applied, r)
		if format == formatTable {
			fmt.Fprintf(w, "route/%s %s%s\n", d.id, outcome, suffix)
			if line := unservedLine(r); line != "" {
				fmt.Fprintln(w, "  "+line)
			}
		}
	}
	if format != formatTable && len(applied) > 0 {
		if err := writeStructured(w, format, &junctionv1.ListRoutesResponse{Routes: applied}); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// applyRoute creates, updates or leaves one route. A route created by
// someone else between the read and the create is read again once.
func applyRoute(ctx context.Context, c *conn, rc junctionv1grpc.RouteServiceClient, d routeDoc, dryRun bool) (*junctionv1.Route, string, error) {
	for attempt := 0; ; attempt++ {
		got, err := call(ctx, c, rc.GetRoute, &junctionv1.GetRouteRequest{Name: d.route.GetName()})
		if status.Code(err) == codes.NotFound {
			resp, err := call(ctx, c, rc.CreateRoute, &junctionv1.CreateRouteRequest{
				RouteId: d.id, Route: d.route, ValidateOnly: dryRun,
			})
			if status.Code(err) == codes.AlreadyExists && attempt == 0 {
				continue
			}
			if err != nil {
				return nil, "", err
			}
			return resp.GetRoute(), created, nil
		}
		if err != nil {
			return nil, "", err
		}
		current := got.GetRoute()
		if sameRoute(current, d.route) {
			return current, unchanged, nil
		}
		want := proto.Clone(d.route).(*junctionv1.Route)
		if want.GetRevision() == 0 {
			want.Revision = current.GetRevision()
		}
		resp, err := call(ctx, c, rc.UpdateRoute, &junctionv1.UpdateRouteRequest{Route: want, ValidateOnly: dryRun})
		if err != nil {
			return nil, "", err
		}
		return resp.GetRoute(), configured, nil
	}
}

// sameRoute reports whether two routes agree on every field a user sets,
// taking defaults into account: an unset enabled flag is true, a target
// without a name is named by its position, a filter may carry the
// "junction.events." prefix or not, and unset policy fields have the
// values the API documents. Name, revision and times are not compared.
func sameRoute(a, b *junctionv1.Route) bool {
	return proto.Equal(settable(a), settable(b))
}

// settable returns the user-settable fields of r with defaults filled in.
func settable(r *junctionv1.Route) *junctionv1.Route {
	out := &junctionv1.Route{
		Description: r.GetDescription(),
		Filter:      topology.NormalizeFilter(r.GetFilter()),
		Condition:   r.GetCondition(),
		Policy:      deliverypolicy.WithDefaults(r.GetPolicy()),
		Enabled:     proto.Bool(enabled(r)),
	}
	for i, t := range r.GetTargets() {
		c := proto.Clone(t).(*junctionv1.Target)
		if c.Name == "" {
			c.Name = strconv.Itoa(i)
		}
		out.Targets = append(out.Targets, c)
	}
	return out
}

// routesGetCommand returns `routes get`.
func routesGetCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show one route",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		id, err := routeIDArg(args[0])
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewRouteServiceClient(c.cc).GetRoute, &junctionv1.GetRouteRequest{Name: routePrefix + id})
		if err != nil {
			return err
		}
		if o.output == formatTable {
			return writeRouteTable(cmd.OutOrStdout(), []*junctionv1.Route{resp.GetRoute()})
		}
		return writeStructured(cmd.OutOrStdout(), o.output, resp.GetRoute())
	})
	return cmd
}

// routesListCommand returns `routes list`.
func routesListCommand(o *options) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List routes in id order",
		Long: `List routes in id order, following the gateway's pages to the end.

-o json and -o yaml print {"routes": [...]}, which routes apply -f takes back.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many routes (0: all)")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		if limit < 0 {
			return fmt.Errorf("--limit %d is negative: give 0 for all routes or a positive count: %w", limit, ErrUsage)
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		routes, err := listRoutes(ctx, c, limit)
		if err != nil {
			return err
		}
		if o.output == formatTable {
			return writeRouteTable(cmd.OutOrStdout(), routes)
		}
		return writeStructured(cmd.OutOrStdout(), o.output, &junctionv1.ListRoutesResponse{Routes: routes})
	})
	return cmd
}

// listRoutes reads pages until the last one or until limit routes (0: no
// limit) were read.
func listRoutes(ctx context.Context, c *conn, limit int) ([]*junctionv1.Route, error) {
	rc := junctionv1grpc.NewRouteServiceClient(c.cc)
	var (
		routes []*junctionv1.Route
		token  string
		seen   = map[string]bool{}
	)
	for {
		req := &junctionv1.ListRoutesRequest{PageToken: token}
		if limit > 0 {
			req.PageSize = int32(min(limit-len(routes), maxPageSize))
		}
		resp, err := call(ctx, c, rc.ListRoutes, req)
		if err != nil {
			return nil, err
		}
		routes = append(routes, resp.GetRoutes()...)
		if limit > 0 && len(routes) >= limit {
			return routes[:limit], nil
		}
		token = resp.GetNextPageToken()
		if token == "" {
			return routes, nil
		}
		if seen[token] {
			return nil, fmt.Errorf("the gateway returned page token %q twice: stopping to avoid a loop", token)
		}
		seen[token] = true
	}
}

// routesDeleteCommand returns `routes delete`.
func routesDeleteCommand(o *options) *cobra.Command {
	var (
		revision       uint64
		ignoreNotFound bool
	)
	cmd := &cobra.Command{
		Use:     "delete ID",
		Aliases: []string{"rm"},
		Short:   "Delete a route",
		Args:    cobra.ExactArgs(1),
	}
	cmd.Flags().Uint64Var(&revision, "revision", 0, "delete only if the route is at this revision")
	cmd.Flags().BoolVar(&ignoreNotFound, "ignore-not-found", false, "succeed when the route does not exist")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		id, err := routeIDArg(args[0])
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = call(ctx, c, junctionv1grpc.NewRouteServiceClient(c.cc).DeleteRoute, &junctionv1.DeleteRouteRequest{
			Name: routePrefix + id, Revision: revision, AllowMissing: ignoreNotFound,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "route/%s deleted\n", id)
		return nil
	})
	return cmd
}

// routesTestCommand returns `routes test`.
func routesTestCommand(o *options) *cobra.Command {
	var (
		file string
		ev   eventFlags
	)
	cmd := &cobra.Command{
		Use:   "test (ID | -f route.yaml) (--event event.json | --data payload.json --source S --type T)",
		Short: "Show what a route would deliver for an event, without publishing",
		Long: `Evaluate a stored route (ID) or a route file (-f, one route; its id may be
left out) against a sample event. Nothing is published.

The event is either a file in the Event JSON shape (--event; "data" may be the
JSON payload itself rather than base64) or built from a payload file with
--data, --source and --type.`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "route file to test instead of a stored route (- for standard input)")
	ev.add(cmd, false)
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		req := &junctionv1.TestRouteRequest{}
		switch {
		case len(args) == 1 && file != "":
			return fmt.Errorf("give a route ID or -f, not both: %w", ErrUsage)
		case len(args) == 1:
			id, err := routeIDArg(args[0])
			if err != nil {
				return err
			}
			req.RouteSource = &junctionv1.TestRouteRequest_Name{Name: routePrefix + id}
		case file != "":
			srcs, err := readSources([]string{file}, cmd.InOrStdin())
			if err != nil {
				return err
			}
			docs, err := parseRoutes(srcs, false, "test")
			if err != nil {
				return err
			}
			if len(docs) != 1 {
				return fmt.Errorf("%s holds %d routes: routes test takes one: %w", file, len(docs), ErrUsage)
			}
			req.RouteSource = &junctionv1.TestRouteRequest_Route{Route: docs[0].route}
		default:
			return fmt.Errorf("give the route to test: a stored route ID or -f route.yaml: %w", ErrUsage)
		}
		e, err := ev.event(cmd.InOrStdin())
		if err != nil {
			return err
		}
		req.Event = e
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewRouteServiceClient(c.cc).TestRoute, req)
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, resp)
		}
		return writeTestResult(cmd.OutOrStdout(), resp)
	})
	return cmd
}

// writeTestResult prints a TestRoute result for people.
func writeTestResult(w io.Writer, r *junctionv1.TestRouteResponse) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "filter matched:\t%t\n", r.GetFilterMatched())
	fmt.Fprintf(tw, "condition matched:\t%t\n", r.GetConditionMatched())
	if r.GetReason() != "" {
		fmt.Fprintf(tw, "reason:\t%s\n", cell(r.GetReason()))
	}
	fmt.Fprintf(tw, "deliveries:\t%d\n", len(r.GetDeliveries()))
	if ds := r.GetUnservedDestinations(); len(ds) > 0 {
		fmt.Fprintf(tw, "unserved:\t%s (no running adapter serves them: deliveries would wait on the hub)\n", cell(strings.Join(ds, ", ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, d := range r.GetDeliveries() {
		fmt.Fprintf(w, "\ndelivery %d: target %s -> %s", i+1, quoteIfEmpty(d.GetTarget()), d.GetDestination())
		if d.GetAction() != "" {
			fmt.Fprintf(w, " (%s)", d.GetAction())
		}
		fmt.Fprintln(w)
		tw := newTable(w)
		fmt.Fprintf(tw, "  id:\t%s\n", cell(d.GetId()))
		if nb, ct := d.GetNotBefore(), d.GetCreateTime(); nb != nil && ct != nil {
			// A delayed target's delivery waits on RETRIES until due.
			fmt.Fprintf(tw, "  subject:\t%s\n", topology.RetrySubject(d.GetDestination(), d.GetRouteId()))
			fmt.Fprintf(tw, "  delay:\t%s (due %s)\n", nb.AsTime().Sub(ct.AsTime()), formatTime(nb))
		} else {
			fmt.Fprintf(tw, "  subject:\t%s\n", topology.DeliverySubject(d.GetDestination(), d.GetRouteId()))
		}
		for _, k := range slices.Sorted(maps.Keys(d.GetConfig())) {
			fmt.Fprintf(tw, "  config.%s:\t%s\n", k, d.GetConfig()[k])
		}
		fmt.Fprintf(tw, "  content type:\t%s\n", cell(d.GetContentType()))
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, "  payload:")
		fmt.Fprintln(w, indent(formatPayload(d.GetPayload()), "    "))
	}
	return nil
}
