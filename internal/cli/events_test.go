package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEventsPublish(t *testing.T) {
	dir := t.TempDir()
	payload := writeFile(t, dir, "payload.json", `{"email": "a@example.com"}`)
	text := writeFile(t, dir, "payload.txt", "plain words")
	eventJSON := writeFile(t, dir, "event.json", `{"id": "evt_file", "source": "acme", "type": "user.created", "subject": "u1", "data": {"email": "f@example.com"}, "extensions": {"tenant": "t1"}}`)
	eventB64 := writeFile(t, dir, "event-b64.json", `{"id": "evt_b64", "source": "acme", "type": "user.created", "data": "aGVsbG8=", "data_content_type": "text/plain"}`)
	eventRaw := writeFile(t, dir, "event-raw.yaml", "id: evt_raw\nsource: acme\ntype: user.created\ndata: aGk\n")
	notB64 := writeFile(t, dir, "event-text.json", `{"source": "acme", "type": "user.created", "data": "hello there"}`)
	badEvent := writeFile(t, dir, "bad.json", `{"source": "acme", "type": "user.created", "colour": "red"}`)

	tests := []struct {
		name      string
		args      []string
		stdin     string
		want      *junctionv1.Event // fields compared: id (when set), source, type, subject, data, content type
		wantOut   string
		wantErr   []string
		wantCalls int // PublishEvent calls made
	}{
		{
			name:    "data-json",
			args:    []string{"--source", "acme", "--type", "user.created", "--data-json", `{"id": 1}`, "--id", "evt_1"},
			want:    &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", Data: []byte(`{"id": 1}`), DataContentType: contentTypeJSON},
			wantOut: "event/evt_1 published (source acme, type user.created, sequence 1)\n",
		},
		{
			name:    "same id again is a duplicate",
			args:    []string{"--source", "acme", "--type", "user.created", "--data-json", `{"id": 2}`, "--id", "evt_1"},
			want:    &junctionv1.Event{Id: "evt_1", Source: "acme", Type: "user.created", Data: []byte(`{"id": 1}`), DataContentType: contentTypeJSON},
			wantOut: "event/evt_1 duplicate: already published, nothing stored (source acme, type user.created, sequence 1)\n",
		},
		{
			name: "data file",
			args: []string{"--source", "acme", "--type", "user.created", "--data", payload, "--id", "evt_2", "--subject", "u2"},
			want: &junctionv1.Event{Id: "evt_2", Source: "acme", Type: "user.created", Subject: "u2", Data: []byte(`{"email": "a@example.com"}`), DataContentType: contentTypeJSON},
		},
		{
			name: "text data file with a content type",
			args: []string{"--source", "acme", "--type", "note.added", "--data", "@" + text, "--id", "evt_3", "--content-type", "text/plain"},
			want: &junctionv1.Event{Id: "evt_3", Source: "acme", Type: "note.added", Data: []byte("plain words"), DataContentType: "text/plain"},
		},
		{
			name:  "data from stdin",
			args:  []string{"--source", "acme", "--type", "user.created", "--data", "@-", "--id", "evt_4"},
			stdin: "\x00\x01binary",
			want:  &junctionv1.Event{Id: "evt_4", Source: "acme", Type: "user.created", Data: []byte("\x00\x01binary"), DataContentType: contentTypeBinary},
		},
		{
			name: "event file with a JSON payload",
			args: []string{"-f", eventJSON},
			want: &junctionv1.Event{Id: "evt_file", Source: "acme", Type: "user.created", Subject: "u1", Data: []byte(`{"email":"f@example.com"}`), DataContentType: contentTypeJSON},
		},
		{
			name: "event file with base64 data, overridden id",
			args: []string{"-f", eventB64, "--id", "evt_b64_2"},
			want: &junctionv1.Event{Id: "evt_b64_2", Source: "acme", Type: "user.created", Data: []byte("hello"), DataContentType: "text/plain"},
		},
		{
			name: "yaml event file with unpadded base64 data",
			args: []string{"-f", eventRaw},
			want: &junctionv1.Event{Id: "evt_raw", Source: "acme", Type: "user.created", Data: []byte("hi")},
		},
		{name: "event file with a text string as data", args: []string{"-f", notB64}, wantErr: []string{"event-text.json", `field "data": a string is read as base64`}},
		{
			name:    "id made up by the gateway",
			args:    []string{"--source", "acme", "--type", "user.created", "--data-json", `{}`},
			wantOut: "event/evt_",
		},
		{name: "no source", args: []string{"--type", "user.created", "--data-json", "{}"}, wantErr: []string{"--source and --type"}},
		{name: "no payload", args: []string{"--source", "acme", "--type", "user.created"}, wantErr: []string{"--data FILE, --data @- or --data-json"}},
		{name: "bad json", args: []string{"--source", "acme", "--type", "x", "--data-json", "{nope"}, wantErr: []string{"--data-json is not valid JSON"}},
		{name: "both payloads", args: []string{"--source", "acme", "--type", "x", "--data-json", "{}", "--data", payload}, wantErr: []string{"not both"}},
		{name: "unknown field in event file", args: []string{"-f", badEvent}, wantErr: []string{"bad.json", "document 1", `unknown field "colour"`}},
		{name: "missing data file", args: []string{"--source", "acme", "--type", "x", "--data", dir + "/nope.json"}, wantErr: []string{"--data", "nope.json"}},
	}
	f := newFakeGateway(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			before := f.calls["PublishEvent"]
			f.mu.Unlock()
			out, err := run(t, f.addr, tt.stdin, append([]string{"events", "publish"}, tt.args...)...)
			f.mu.Lock()
			calls := f.calls["PublishEvent"] - before
			f.mu.Unlock()
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q: want it to contain %q", err, w)
					}
				}
				if calls != 0 {
					t.Errorf("PublishEvent called %d times despite bad input", calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			if !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("output: got %q, want it to start with %q", out, tt.wantOut)
			}
			if tt.want == nil {
				return
			}
			got, err := run(t, f.addr, "", "events", "get", tt.want.Id, "--source", tt.want.Source, "-o", "json")
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			// What get prints reads back as an event file.
			e, err := parseEvent(source{name: "out", data: []byte(got)})
			if err != nil {
				t.Fatalf("parse events get -o json: %v\n%s", err, got)
			}
			if e.Id != tt.want.Id || e.Source != tt.want.Source || e.Type != tt.want.Type || e.Subject != tt.want.Subject ||
				!sameData(e.Data, tt.want.Data) || e.DataContentType != tt.want.DataContentType {
				t.Errorf("stored event:\ngot  %v\nwant %v", e, tt.want)
			}
		})
	}
}

func TestEventsGet(t *testing.T) {
	f := newFakeGateway(t)
	for _, src := range []string{"acme", "shop"} {
		if _, err := run(t, f.addr, "", "events", "publish", "--source", src, "--type", "user.created", "--id", "evt_same", "--data-json", `{"n":1}`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, f.addr, "", "events", "publish", "--source", "acme", "--type", "user.created", "--id", "evt_one", "--subject", "u1", "--data-json", `{"n":2}`); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		wantOut  []string
		wantCode codes.Code
		wantErr  string
	}{
		{name: "table", args: []string{"evt_one"}, wantOut: []string{"ID:", "evt_one", "SOURCE:", "acme", "SUBJECT:", "u1", "SEQUENCE:", "3", "DATA:", `  {`, `"n": 2`}},
		{name: "yaml", args: []string{"events/evt_one", "-o", "yaml"}, wantOut: []string{"id: evt_one", "source: acme", "subject: u1", "data:\n  n: 2"}},
		{name: "json shows a JSON payload as JSON", args: []string{"evt_one", "-o", "json"}, wantOut: []string{`"id": "evt_one"`, `"data": {`, `"n": 2`}},
		{name: "ambiguous", args: []string{"evt_same"}, wantCode: codes.FailedPrecondition, wantErr: "FailedPrecondition: id evt_same exists in sources"},
		{name: "ambiguous with source", args: []string{"evt_same", "--source", "shop"}, wantOut: []string{"shop"}},
		{name: "missing", args: []string{"evt_nope"}, wantCode: codes.NotFound, wantErr: "NotFound: event evt_nope not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, f.addr, "", append([]string{"events", "get"}, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one starting %q", err, tt.wantErr)
				}
				if got := status.Code(err); got != tt.wantCode {
					t.Errorf("status code: got %v, want %v", got, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("yaml parses back", func(t *testing.T) {
		out, err := run(t, f.addr, "", "events", "get", "evt_one", "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		e, err := parseEvent(source{name: "out", data: []byte(out)})
		if err != nil {
			t.Fatalf("parse yaml: %v\n%s", err, out)
		}
		if string(e.GetData()) != `{"n":2}` || e.GetId() != "evt_one" || e.GetReceiveTime() == nil {
			t.Errorf("parsed back: got %v", e)
		}
	})
}

// sameData compares payloads as JSON values when both are JSON, else as bytes.
func sameData(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil {
		return reflect.DeepEqual(va, vb)
	}
	return bytes.Equal(a, b)
}
