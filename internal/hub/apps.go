package hub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/cloudevents"
	"github.com/junctionhq/junction/adapters/email"
	"github.com/junctionhq/junction/adapters/github"
	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/jira"
	"github.com/junctionhq/junction/adapters/poll"
	"github.com/junctionhq/junction/adapters/postgres"
	"github.com/junctionhq/junction/adapters/schedule"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/shopify"
	"github.com/junctionhq/junction/adapters/slack"
	"github.com/junctionhq/junction/adapters/stripe"
)

// The app adapters `junction serve` can run from a `sources:` entry, each
// the same adapter its own binary (adapters/cmd/<app>-adapter) runs. One
// line each.
func init() {
	registerApp(poll.Spec, poll.New)
	registerApp(schedule.Spec, schedule.New)
	registerApp(slack.Spec, slack.New)
	registerApp(hubspot.Spec, hubspot.New)
	registerApp(github.Spec, github.New)
	registerApp(jira.Spec, jira.New)
	registerApp(shopify.Spec, shopify.New)
	registerApp(stripe.Spec, stripe.New)
	registerApp(cloudevents.Spec, cloudevents.New)
	registerApp(email.Spec, email.New)
	registerApp(postgres.Spec, postgres.New)
}

// SourceApp is one `sources:` entry: an app adapter run inside serve, its
// webhooks taken at /webhooks/<app> on the HTTP port.
//
//	sources:
//	  - app: stripe
//	    config:            # what the adapter's own binary reads under adapter:
//	      secret_env: STRIPE_WEBHOOK_SECRET
type SourceApp struct {
	// App names the adapter (its Spec.App): the event source of its
	// webhooks and the NATS user it connects as.
	App string `yaml:"app"`
	// Config is the adapter's own configuration, decoded strictly into its
	// config type.
	Config yaml.Node `yaml:"config"`
	// PollInterval is a polling source's hub.poll_interval (default 1m,
	// at least 100ms): how often the poll and schedule adapters run.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// app is an adapter serve can build from a SourceApp.
type app struct {
	spec sdk.Spec
	// build decodes the entry's config strictly, validates it (when the
	// config type has Validate) and, when construct is set, builds the
	// adapter, which may read its secrets from the environment.
	build func(config *yaml.Node, construct bool) (any, error)
}

// apps are the adapters serve knows, by app name.
var apps = map[string]app{}

// registerApp makes an adapter available to `sources:`, from the same
// spec and constructor its binary passes to sdk.Main.
func registerApp[C any, A any](spec sdk.Spec, newAdapter func(C) (A, error)) {
	if _, dup := apps[spec.App]; dup {
		panic("hub: app " + spec.App + " registered twice")
	}
	apps[spec.App] = app{spec: spec, build: func(node *yaml.Node, construct bool) (any, error) {
		var c C
		if err := decodeNode(node, &c); err != nil {
			return nil, err
		}
		if v, ok := any(&c).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, err
			}
		}
		if !construct {
			return nil, nil
		}
		return newAdapter(c)
	}}
}

// decodeNode decodes a YAML node strictly: an unknown or misspelt key is an
// error naming it. An absent node leaves out at its zero value.
func decodeNode(node *yaml.Node, out any) error {
	if node == nil || node.Kind == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(node); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// knownApps lists the registered apps for error messages.
func knownApps() string {
	names := slices.Sorted(maps.Keys(apps))
	if len(names) == 0 {
		return "none are built in"
	}
	return strings.Join(names, ", ")
}

// validateSources checks the `sources:` entries: known apps, each once, not
// clashing with the generic webhook adapter's sources, with configs their
// adapters accept.
func (c *Config) validateSources() []error {
	var errs []error
	seen := map[string]bool{}
	webhookSources := c.webhookSources()
	for i, s := range c.Sources {
		where := fmt.Sprintf("sources[%d]", i)
		a, ok := apps[s.App]
		switch {
		case s.App == "":
			errs = append(errs, fmt.Errorf("%s: app is required: one of %s", where, knownApps()))
			continue
		case !ok:
			errs = append(errs, fmt.Errorf("%s: unknown app %q: serve runs %s (the generic webhook adapter is configured under webhook:)", where, s.App, knownApps()))
			continue
		case seen[s.App]:
			errs = append(errs, fmt.Errorf("%s: app %q is listed twice: one entry per app", where, s.App))
			continue
		case slices.Contains(webhookSources, s.App):
			errs = append(errs, fmt.Errorf("%s: app %q is also a source of the generic webhook adapter (webhook.sources): /webhooks/%s can go to one of them only; rename the webhook source", where, s.App, s.App))
			continue
		}
		seen[s.App] = true
		if s.PollInterval != 0 && s.PollInterval < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s (%s): poll_interval %v: use at least 100ms", where, s.App, s.PollInterval))
		}
		if _, err := a.build(&s.Config, false); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): config: %w", where, s.App, err))
		}
	}
	return errs
}

// sourceApps are the apps of the `sources:` entries, in order.
func (c *Config) sourceApps() []string {
	var out []string
	for _, s := range c.Sources {
		out = append(out, s.App)
	}
	return out
}

// appRunner is a `sources:` app adapter running inside serve.
type appRunner struct {
	name   string
	runner *platform.Runner
}

// newAppRunners builds the `sources:` adapters, each on its own NATS
// connection, in the configuration's order.
func (h *Hub) newAppRunners() ([]appRunner, error) {
	var out []appRunner
	for _, s := range h.cfg.Sources {
		a := apps[s.App]
		adapter, err := a.build(&s.Config, true)
		if err != nil {
			return nil, fmt.Errorf("%s adapter: %w", s.App, err)
		}
		log := h.logger.With("component", "adapter", "app", s.App)
		r, err := platform.NewRunner(a.spec, adapter, h.conns.apps[s.App], platform.RunnerOptions{
			Config: sdk.Config{Instance: "serve", Concurrency: 64, HeartbeatEvery: 10 * time.Second, PollInterval: s.PollInterval},
			Logger: log,
			Scoped: h.conns.scoped,
		})
		if err != nil {
			return nil, fmt.Errorf("%s adapter: %w", s.App, err)
		}
		out = append(out, appRunner{name: s.App, runner: r})
	}
	return out, nil
}
