package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonOptions writes the proto JSON shape with the field names users write
// in route files (snake_case).
var jsonOptions = protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}

// writeStructured writes m as indented JSON or as YAML.
func writeStructured(w io.Writer, format string, m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	b = stableJSON(b)
	if format == formatYAML {
		b, err = jsonToYAML(b)
		if err != nil {
			return err
		}
	} else {
		b = append(b, '\n')
	}
	_, err = w.Write(b)
	return err
}

// writeEventStructured writes e like writeStructured, except that a JSON
// payload is written as JSON rather than base64, so it reads as sent. The
// result still reads back with `events publish -f`, which takes data as a
// JSON value.
func writeEventStructured(w io.Writer, format string, e *junctionv1.Event) error {
	if e.GetDataJson() != nil {
		// data is written as JSON below already.
		e = proto.Clone(e).(*junctionv1.Event)
		e.DataJson = nil
	}
	if len(e.GetData()) == 0 || !json.Valid(e.GetData()) || !isJSONContentType(e.GetDataContentType()) {
		return writeStructured(w, format, e)
	}
	rest := proto.Clone(e).(*junctionv1.Event)
	rest.Data = nil
	b, err := jsonOptions.Marshal(rest)
	if err != nil {
		return fmt.Errorf("encode Event: %w", err)
	}
	b = stableJSON(b)
	var data bytes.Buffer
	if err := json.Indent(&data, e.GetData(), "  ", "  "); err != nil {
		return fmt.Errorf("encode Event data: %w", err)
	}
	b = bytes.TrimSpace(b)
	b = bytes.TrimRight(b[:len(b)-1], " \n") // drop the closing brace only
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, "\n  \"data\": "...)
	b = append(b, data.Bytes()...)
	b = append(b, "\n}"...)
	if format == formatYAML {
		if b, err = jsonToYAML(b); err != nil {
			return err
		}
	} else {
		b = append(b, '\n')
	}
	_, err = w.Write(b)
	return err
}

// isJSONContentType reports whether a media type is JSON (application/json
// or a +json suffix), ignoring parameters.
func isJSONContentType(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	return ct == "application/json" || strings.HasSuffix(ct, "+json") || ct == "text/json"
}

// jsonToYAML converts a JSON document to block-style YAML, keeping the key
// order and quoting strings that would otherwise read back as numbers,
// booleans or null.
func jsonToYAML(b []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// blockStyle drops the flow and quoting styles JSON input leaves on n, so
// that the encoder picks plain YAML (it still quotes strings that need it).
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// newTable returns a tabwriter for aligned columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
}

// writeRouteTable prints routes as aligned columns.
func writeRouteTable(w io.Writer, routes []*junctionv1.Route) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tFILTER\tTARGETS\tENABLED\tSTATUS\tREVISION\tUPDATED")
	for _, r := range routes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%d\t%s\n",
			strings.TrimPrefix(r.GetName(), routePrefix),
			cell(r.GetFilter()),
			cell(targetList(r.GetTargets())),
			enabled(r),
			routeState(r),
			r.GetRevision(),
			cell(formatTime(r.GetUpdateTime())),
		)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Why a route is degraded or unserved does not fit a column: one line
	// each below.
	for _, r := range routes {
		if st := r.GetStatus(); st.GetState() == junctionv1.RouteStatus_STATE_DEGRADED {
			if _, err := fmt.Fprintf(w, "%s degraded since %s, evaluated again at %s: %s\n",
				strings.TrimPrefix(r.GetName(), routePrefix), formatTime(st.GetSince()), formatTime(st.GetRetryTime()), cell(st.GetReason())); err != nil {
				return err
			}
		}
		if line := unservedLine(r); line != "" {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// routeState is the router's report on a route ("healthy" when it made
// none), and "unserved" when a destination it names has no running
// adapter.
func routeState(r *junctionv1.Route) string {
	state := "healthy"
	if r.GetStatus().GetState() == junctionv1.RouteStatus_STATE_DEGRADED {
		state = "degraded"
	}
	if len(r.GetUnservedDestinations()) > 0 {
		if state == "healthy" {
			return "unserved"
		}
		state += ",unserved"
	}
	return state
}

// unservedLine says which of a route's destinations no running adapter
// serves and what that means; "" when every one is served.
func unservedLine(r *junctionv1.Route) string {
	ds := r.GetUnservedDestinations()
	if len(ds) == 0 {
		return ""
	}
	return fmt.Sprintf("%s unserved: no running adapter serves %s; deliveries to it wait on the hub until one starts (see junction_destination_unserved_deliveries)",
		strings.TrimPrefix(r.GetName(), routePrefix), cell(strings.Join(ds, ", ")))
}

// targetList shows a route's targets as destination[:action], followed by
// "(delay D)" for a delayed target, comma separated.
func targetList(ts []*junctionv1.Target) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		p := t.GetDestination()
		if t.GetAction() != "" {
			p += ":" + t.GetAction()
		}
		if d := t.GetDelay().AsDuration(); t.GetDelay() != nil && d != 0 {
			p += "(delay " + d.String() + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ",")
}

// enabled is a route's effective enabled flag: unset means true.
func enabled(r *junctionv1.Route) bool {
	return r.Enabled == nil || *r.Enabled
}

// cell shows an empty value as "-" and keeps a value on one line.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
}

// formatTime shows a timestamp in UTC to the second, or "" when unset.
func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// formatPayload shows a payload for people: indented when it is JSON, as
// text when it is UTF-8, else as base64.
func formatPayload(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	var buf bytes.Buffer
	if json.Valid(b) && json.Indent(&buf, b, "", "  ") == nil {
		return buf.String()
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(b)
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// quoteIfEmpty shows an empty name as "" so it is visible.
func quoteIfEmpty(s string) string {
	if s == "" {
		return strconv.Quote(s)
	}
	return s
}
