package sdk_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// testSchema takes a required https URL, an optional whole number, an
// optional flag and an optional choice.
var testSchema = &sdk.TargetSchema{Keys: []sdk.TargetKey{
	{Name: "url", Type: sdk.KeyURL, Required: true, Schemes: []string{"https"}, Description: "the endpoint to POST to"},
	{Name: "timeout_seconds", Type: sdk.KeyInt},
	{Name: "compress", Type: sdk.KeyBool},
	{Name: "format", Values: []string{"json", "form"}},
}}

func TestTargetSchemaCheck(t *testing.T) {
	const ok = "https://example.com/hook"
	tests := []struct {
		name   string
		schema *sdk.TargetSchema
		config map[string]string
		want   []string // parts of the error; none for no error
	}{
		{"valid, required only", testSchema, map[string]string{"url": ok}, nil},
		{"valid, every key", testSchema, map[string]string{"url": ok, "timeout_seconds": "30", "compress": "false", "format": "form"}, nil},
		{"optional key empty counts as absent", testSchema, map[string]string{"url": ok, "timeout_seconds": ""}, nil},
		{"nil schema takes anything", nil, map[string]string{"anything": "x"}, nil},
		{"required key missing", testSchema, map[string]string{}, []string{"url: required: the endpoint to POST to"}},
		{"required key empty", testSchema, map[string]string{"url": ""}, []string{"url: required"}},
		{"scheme not allowed", testSchema, map[string]string{"url": "http://example.com/hook"}, []string{`url: scheme "http" is not allowed`, "https://"}},
		{"ftp", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "url", Type: sdk.KeyURL}}}, map[string]string{"url": "ftp://example.com/x"}, []string{`scheme "ftp" is not allowed`, "https:// or http://"}},
		{"relative url", testSchema, map[string]string{"url": "/hook"}, []string{"url: has no scheme"}},
		{"no host", testSchema, map[string]string{"url": "https:///hook"}, []string{"url: has no host"}},
		{"userinfo", testSchema, map[string]string{"url": "https://user:s3cret@example.com/hook"}, []string{"url: carries a user or password"}},
		{"unparsable", testSchema, map[string]string{"url": "https://exa mple.com:x/"}, []string{"url: cannot be parsed"}},
		{"not a number", testSchema, map[string]string{"url": ok, "timeout_seconds": "ten"}, []string{"timeout_seconds: must be a whole number"}},
		{"not a bool", testSchema, map[string]string{"url": ok, "compress": "yes"}, []string{`compress: must be "true" or "false"`}},
		{"not an allowed value", testSchema, map[string]string{"url": ok, "format": "xml"}, []string{`format: must be one of "json", "form"`}},
		{"unknown key, case", testSchema, map[string]string{"URL": ok}, []string{"url: required"}},
		{"unknown key beside the required one", testSchema, map[string]string{"url": ok, "URL": ok}, []string{"URL: not a key this destination takes", "url (required), timeout_seconds, compress, format", `did you mean "url"?`}},
		{"unknown key, misspelt", testSchema, map[string]string{"url": ok, "formt": "json"}, []string{`formt: not a key`, `did you mean "format"?`}},
		{"unknown key, nothing near", testSchema, map[string]string{"url": ok, "channel": "x"}, []string{"channel: not a key"}},
		{"other keys allowed", &sdk.TargetSchema{AllowOtherKeys: true}, map[string]string{"channel": "x"}, nil},
		{"empty schema takes no keys", &sdk.TargetSchema{}, map[string]string{"channel": "x"}, []string{"it takes none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schema.Check(tt.config)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check(%v) = %v, want nil", tt.config, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%v) = nil, want an error containing %q", tt.config, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check(%v) = %q, want it to contain %q", tt.config, err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Check error %q repeats the URL's password", err)
			}
		})
	}
}

func TestNewRunnerTargetSchema(t *testing.T) {
	hub := sdktest.NewHub(t)
	nc := hub.Connect(t)
	tests := []struct {
		name    string
		schema  *sdk.TargetSchema
		adapter any
		want    string
	}{
		{"not a sink", testSchema, echoSource{}, "not an sdk.Sink"},
		{"key without a name", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Type: sdk.KeyURL}}}, &testSink{}, "keys[0] has no name"},
		{"key twice", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "a"}, {Name: "a"}}}, &testSink{}, `key "a" is declared twice`},
		{"unknown type", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "a", Type: sdk.KeyBool + 1}}}, &testSink{}, "unknown type"},
		{"schemes on a string", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "a", Schemes: []string{"https"}}}}, &testSink{}, "not a KeyURL"},
		{"values on a url", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "a", Type: sdk.KeyURL, Values: []string{"x"}}}}, &testSink{}, "not a KeyString"},
		{"scheme with colon", &sdk.TargetSchema{Keys: []sdk.TargetKey{{Name: "a", Type: sdk.KeyURL, Schemes: []string{"https://"}}}}, &testSink{}, "lower case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := platform.NewRunner(sdk.Spec{App: "x", Targets: tt.schema}, tt.adapter, nc, platform.RunnerOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRunner error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRegistrationTargetSchema checks that a sink's registration carries
// its schema in the wire form the hub reads.
func TestRegistrationTargetSchema(t *testing.T) {
	hub := sdktest.NewHub(t)
	r, err := platform.NewRunner(sdk.Spec{App: "x", Targets: testSchema}, &testSink{}, hub.Connect(t), platform.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &junctionv1.TargetSchema{Keys: []*junctionv1.TargetKey{
		{Name: "url", Type: junctionv1.TargetKey_TYPE_URL, Required: true, UrlSchemes: []string{"https"}, Description: "the endpoint to POST to"},
		{Name: "timeout_seconds", Type: junctionv1.TargetKey_TYPE_INTEGER},
		{Name: "compress", Type: junctionv1.TargetKey_TYPE_BOOLEAN},
		{Name: "format", Type: junctionv1.TargetKey_TYPE_STRING, Values: []string{"json", "form"}},
	}}
	if got := r.Registration().GetTargetSchema(); !proto.Equal(got, want) {
		t.Errorf("registration target_schema = %v, want %v", got, want)
	}
	plain, err := platform.NewRunner(sdk.Spec{App: "y"}, &testSink{}, hub.Connect(t), platform.RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.Registration().GetTargetSchema(); got != nil {
		t.Errorf("registration of a sink that declared no schema has target_schema %v, want none", got)
	}
}
