package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
)

// JaegerURLEnv names the environment variable read when --jaeger-url is not
// given.
const JaegerURLEnv = "JUNCTION_JAEGER_URL"

// ErrNoTrace is returned by `events trace` for an event stored untraced.
var ErrNoTrace = errors.New("event has no trace")

// eventsTraceCommand returns `events trace`.
func eventsTraceCommand(o *options) *cobra.Command {
	var source, jaeger string
	cmd := &cobra.Command{
		Use:   "trace ID",
		Short: "Print the trace id of a stored event, with a Jaeger link",
		Long: `Print the W3C trace id the event was published in: the trace that shows it
from the webhook that brought it in to every delivery attempt. With a Jaeger
URL (--jaeger-url or ` + JaegerURLEnv + `, e.g. http://localhost:16686) it also
prints the link to the trace in Jaeger.`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&source, "source", "", "source of the event, when several sources used the id")
	cmd.Flags().StringVar(&jaeger, "jaeger-url", "", "Jaeger base URL, e.g. http://localhost:16686 (env "+JaegerURLEnv+")")
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, args []string) error {
		name, err := eventName(args[0])
		if err != nil {
			return err
		}
		if !cmd.Flags().Changed("jaeger-url") {
			jaeger = os.Getenv(JaegerURLEnv)
		}
		if _, err := jaegerLink(jaeger, ""); err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewEventServiceClient(c.cc).GetEvent, &junctionv1.GetEventRequest{
			Name: name, Source: source,
		})
		if err != nil {
			return err
		}
		e := resp.GetEvent()
		tid := e.GetTraceId()
		if tid == "" {
			return fmt.Errorf("%w: event %s from %s was stored while tracing was off; set OTEL_EXPORTER_OTLP_ENDPOINT for the hub to trace new events", ErrNoTrace, e.GetId(), e.GetSource())
		}
		link, _ := jaegerLink(jaeger, tid)
		w := cmd.OutOrStdout()
		switch o.output {
		case formatJSON, formatYAML:
			out := map[string]string{"event": e.GetId(), "source": e.GetSource(), "trace_id": tid}
			if link != "" {
				out["jaeger_url"] = link
			}
			if o.output == formatYAML {
				for _, k := range []string{"event", "source", "trace_id", "jaeger_url"} {
					if v, ok := out[k]; ok {
						fmt.Fprintf(w, "%s: %s\n", k, v)
					}
				}
				return nil
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		fmt.Fprintf(w, "TRACE ID:  %s\n", tid)
		if link != "" {
			fmt.Fprintf(w, "JAEGER:    %s\n", link)
		}
		return nil
	})
	return cmd
}

// jaegerLink is base's page for trace id; "" when base is empty. base must
// be an http(s) URL.
func jaegerLink(base, traceID string) (string, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return "", nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("jaeger url %q: give the base of Jaeger's UI, e.g. http://localhost:16686: %w", base, ErrUsage)
	}
	return strings.TrimSuffix(u.String(), "/") + "/trace/" + traceID, nil
}

// stableJSON re-indents protojson output with two spaces: protojson
// deliberately varies its white space from build to build, which would make
// the CLI's output (and scripts or tests reading it) unstable.
func stableJSON(b []byte) []byte {
	var compact, out bytes.Buffer
	if json.Compact(&compact, b) != nil || json.Indent(&out, compact.Bytes(), "", "  ") != nil {
		return b
	}
	return out.Bytes()
}
