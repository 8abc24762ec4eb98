package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"

	"github.com/junctionhq/junction/proto/junction/v1/junctionv1grpc"
	"github.com/spf13/cobra"
)

// Content types set on a payload given with --data or --data-json.
const (
	contentTypeJSON   = "application/json"
	contentTypeBinary = "application/octet-stream"
)

// eventsCommand returns the `events` tree.
func eventsCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Publish events onto the hub and read them back",
		Args:  cobra.NoArgs,
	}
	o.addPersistentFlags(cmd)
	cmd.AddCommand(eventsPublishCommand(o), eventsGetCommand(o), eventsDeliveriesCommand(o), eventsResendCommand(o))
	cmd.AddCommand(eventsTraceCommand(o))
	cmd.AddCommand(eventsListCommand(o), eventsReplayCommand(o), eventsTailCommand(o))
	return cmd
}

// eventFlags are the flags that describe an event: a file in the Event JSON
// shape, or source, type and payload.
type eventFlags struct {
	file        string // --event (routes test) or -f (events publish)
	data        string
	dataJSON    string
	source      string
	typ         string
	id          string
	subject     string
	contentType string
}

// add defines the flags on cmd. publish names the event file -f, as the
// route file is -f in routes test.
func (f *eventFlags) add(cmd *cobra.Command, publish bool) {
	fl := cmd.Flags()
	if publish {
		fl.StringVarP(&f.file, "filename", "f", "", "event file in the Event JSON shape (- for standard input)")
	} else {
		fl.StringVar(&f.file, "event", "", "event file in the Event JSON shape (- for standard input)")
	}
	fl.StringVar(&f.data, "data", "", "payload file, or @- for standard input")
	fl.StringVar(&f.dataJSON, "data-json", "", "payload given inline as JSON")
	fl.StringVar(&f.source, "source", "", "source of the event, e.g. acme")
	fl.StringVar(&f.typ, "type", "", "type of the event, e.g. user.created")
	fl.StringVar(&f.id, "id", "", "event id (the gateway makes one up when empty)")
	fl.StringVar(&f.subject, "subject", "", "what the event is about, e.g. a ticket key")
	fl.StringVar(&f.contentType, "content-type", "", "media type of the payload (default: application/json when it is JSON)")
}

// event builds the event the flags describe.
func (f *eventFlags) event(stdin io.Reader) (*junctionv1.Event, error) {
	var e *junctionv1.Event
	switch {
	case f.file != "" && (f.data != "" || f.dataJSON != ""):
		return nil, fmt.Errorf("give the payload in the event file or with --data/--data-json, not both: %w", ErrUsage)
	case f.data != "" && f.dataJSON != "":
		return nil, fmt.Errorf("give --data or --data-json, not both: %w", ErrUsage)
	case f.file != "":
		srcs, err := readSources([]string{f.file}, stdin)
		if err != nil {
			return nil, err
		}
		e, err = parseEvent(srcs[0])
		if err != nil {
			return nil, err
		}
	default:
		if f.source == "" || f.typ == "" {
			return nil, fmt.Errorf("give the event: an event file, or --source and --type with --data FILE, --data @- or --data-json: %w", ErrUsage)
		}
		e = &junctionv1.Event{}
		switch {
		case f.dataJSON != "":
			if !json.Valid([]byte(f.dataJSON)) {
				return nil, fmt.Errorf("--data-json is not valid JSON: quote it for the shell, e.g. --data-json '{\"id\": 1}': %w", ErrUsage)
			}
			e.Data = []byte(f.dataJSON)
		case f.data != "":
			b, err := readData(f.data, stdin)
			if err != nil {
				return nil, err
			}
			e.Data = b
		default:
			return nil, fmt.Errorf("give the payload with --data FILE, --data @- or --data-json '{...}': %w", ErrUsage)
		}
		e.DataContentType = contentTypeBinary
		if json.Valid(e.Data) {
			e.DataContentType = contentTypeJSON
		}
	}
	// Flags given alongside a file override its values; --content-type
	// overrides the guess made from the payload.
	for _, o := range []struct {
		flag string
		dst  *string
	}{{f.source, &e.Source}, {f.typ, &e.Type}, {f.id, &e.Id}, {f.subject, &e.Subject}, {f.contentType, &e.DataContentType}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	return e, nil
}

// readData reads a payload from a file, "@file" or "@-" (standard input).
func readData(arg string, stdin io.Reader) ([]byte, error) {
	if arg == "@-" || arg == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("--data: read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(strings.TrimPrefix(arg, "@"))
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	return b, nil
}

// parseEvent reads one event in the Event JSON shape (JSON or YAML). Its
// "data" may be the JSON payload itself (an object, list, number, ...)
// instead of base64; then the content type defaults to application/json.
func parseEvent(src source) (*junctionv1.Event, error) {
	docs, err := decodeDocuments(src.name, src.data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: holds %d documents: want one event: %w", src.name, len(docs), ErrInvalidInput)
	}
	d := docs[0]
	m, ok := d.value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an event (a mapping with source, type, data, ...), got %s: %w", d.where(src.name), describe(d.value), ErrInvalidInput)
	}
	var payload []byte
	fields := make(map[string]any, len(m))
	for k, v := range m {
		fields[k] = v
	}
	if v, ok := fields["data"]; ok && v != nil {
		if s, isString := v.(string); isString {
			if !isBase64(s) {
				return nil, fmt.Errorf("%s: field \"data\": a string is read as base64 and this is not base64: write the JSON payload itself (an object or list) or base64-encode it: %w", d.where(src.name), ErrInvalidInput)
			}
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: field \"data\": %w", d.where(src.name), err)
			}
			payload = b
			delete(fields, "data")
		}
	}
	e := &junctionv1.Event{}
	if err := unmarshalInto(fields, e); err != nil {
		return nil, fmt.Errorf("%s: %w", d.where(src.name), err)
	}
	if payload != nil {
		e.Data = payload
		if e.DataContentType == "" {
			e.DataContentType = contentTypeJSON
		}
	}
	return e, nil
}

// eventsPublishCommand returns `events publish`.
func eventsPublishCommand(o *options) *cobra.Command {
	var ev eventFlags
	cmd := &cobra.Command{
		Use:   "publish (--source S --type T (--data FILE|@- | --data-json '{...}') | -f event.json)",
		Short: "Publish an event onto the hub",
		Long: `Publish an event onto the hub; it returns once the hub stored it.

Publishing an id again from the same source stores nothing and reports the
event as a duplicate. With -f, --source, --type, --id and --subject override
the file's values.`,
		Args: cobra.NoArgs,
	}
	ev.add(cmd, true)
	cmd.RunE = runE(o, func(ctx context.Context, cmd *cobra.Command, _ []string) error {
		e, err := ev.event(cmd.InOrStdin())
		if err != nil {
			return err
		}
		c, err := o.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := call(ctx, c, junctionv1grpc.NewEventServiceClient(c.cc).PublishEvent, &junctionv1.PublishEventRequest{Event: e})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeStructured(cmd.OutOrStdout(), o.output, resp)
		}
		got := resp.GetEvent()
		what := "published"
		if resp.GetDuplicate() {
			what = "duplicate: already published, nothing stored"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "event/%s %s (source %s, type %s, sequence %d)\n",
			got.GetId(), what, got.GetSource(), got.GetType(), resp.GetSequence())
		return nil
	})
	return cmd
}

// eventsGetCommand returns `events get`.
func eventsGetCommand(o *options) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a stored event",
		Long: `Show a stored event by id. Give --source when two sources used the same id.

-o json and -o yaml print the event itself, which events publish -f takes back.`,
		Args: cobra.ExactArgs(1),
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
		resp, err := call(ctx, c, junctionv1grpc.NewEventServiceClient(c.cc).GetEvent, &junctionv1.GetEventRequest{
			Name: name, Source: source,
		})
		if err != nil {
			return err
		}
		if o.output != formatTable {
			return writeEventStructured(cmd.OutOrStdout(), o.output, resp.GetEvent())
		}
		return writeEvent(cmd.OutOrStdout(), resp.GetEvent(), resp.GetSequence())
	})
	return cmd
}

// writeEvent prints an event for people.
func writeEvent(w io.Writer, e *junctionv1.Event, seq uint64) error {
	tw := newTable(w)
	rows := [][2]string{
		{"ID", e.GetId()},
		{"SOURCE", e.GetSource()},
		{"TYPE", e.GetType()},
		{"SUBJECT", e.GetSubject()},
		{"TIME", formatTime(e.GetTime())},
		{"RECEIVED", formatTime(e.GetReceiveTime())},
		{"SEQUENCE", fmt.Sprint(seq)},
		{"CONTENT TYPE", e.GetDataContentType()},
	}
	if e.GetTraceId() != "" {
		rows = append(rows, [2]string{"TRACE ID", e.GetTraceId()})
	}
	if e.GetDataSchema() != "" {
		rows = append(rows, [2]string{"SCHEMA", e.GetDataSchema()})
	}
	if e.GetSourceUri() != "" {
		rows = append(rows, [2]string{"SOURCE URI", e.GetSourceUri()})
	}
	for _, k := range slices.Sorted(maps.Keys(e.GetExtensions())) {
		rows = append(rows, [2]string{"EXTENSION " + k, e.GetExtensions()[k]})
	}
	switch {
	case e.GetUser() != nil:
		rows = append(rows, [2]string{"MODEL", "user"})
	case e.GetContact() != nil:
		rows = append(rows, [2]string{"MODEL", "contact"})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], cell(r[1]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "DATA:")
	fmt.Fprintln(w, indent(formatPayload(e.GetData()), "  "))
	return nil
}

// isBase64 reports whether s is base64 in one of the forms protojson reads
// for bytes: standard or URL alphabet, padded or not.
func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// eventName is the resource name of the event an argument names: an id,
// or the id prefixed with "events/" (or "event/").
func eventName(arg string) (string, error) {
	id := strings.TrimPrefix(strings.TrimPrefix(arg, "events/"), "event/")
	if id == "" {
		return "", fmt.Errorf("event id is empty: %w", ErrUsage)
	}
	return "events/" + id, nil
}
