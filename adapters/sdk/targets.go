package sdk

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TargetSchema declares the target config a sink's destination takes: the
// keys of a route target's config that Deliver reads from
// Delivery.Config, the type of each value and which are required. Give it
// as [Spec].Targets. The Runner publishes it with the adapter's
// registration, and the hub's gateway refuses a route whose target config
// breaks it (InvalidArgument, naming the target, the key and what to fix),
// so a route that cannot deliver is caught when it is saved rather than
// when its first delivery is dead-lettered. A nil *TargetSchema declares
// nothing and nothing is checked.
//
// For example, a destination that posts to a URL and takes an optional
// channel:
//
//	Targets: &sdk.TargetSchema{Keys: []sdk.TargetKey{
//		{Name: "url", Type: sdk.KeyURL, Required: true, Schemes: []string{"https"}, Description: "the endpoint to POST to"},
//		{Name: "channel", Description: "the channel to post in; the default channel when unset"},
//	}}
type TargetSchema struct {
	// Keys are the keys the destination reads.
	Keys []TargetKey
	// AllowOtherKeys accepts keys that are not in Keys. By default a
	// route that names another key is refused, so that a misspelt key
	// ("URL" for "url") cannot pass.
	AllowOtherKeys bool
}

// TargetKey is one key of a [TargetSchema].
type TargetKey struct {
	// Name is the key in the target config, e.g. "url".
	Name string
	// Description says what the key is for; it is shown when a route
	// leaves a required key out.
	Description string
	// Required makes a route without the key, or with an empty value,
	// refused. An optional key with an empty value counts as absent.
	Required bool
	// Type says how the value is read; KeyString by default.
	Type KeyType
	// Schemes are, for KeyURL, the URL schemes allowed; empty means
	// "https" and "http".
	Schemes []string
	// Values are, for KeyString, the only values allowed when not empty.
	Values []string
}

// KeyType is how a [TargetKey]'s value is read. Target config values are
// strings; the type says which strings are valid.
type KeyType int

// The types of target config values.
const (
	// KeyString is any string (or one of TargetKey.Values).
	KeyString KeyType = iota
	// KeyURL is an absolute URL with a host, one of TargetKey.Schemes and
	// no user or password: credentials belong in the adapter's own
	// configuration, since routes are stored and shown in clear.
	KeyURL
	// KeyInt is a whole number in base 10.
	KeyInt
	// KeyBool is "true" or "false".
	KeyBool
)

// defaultSchemes are the schemes of a KeyURL that names none.
var defaultSchemes = []string{"https", "http"}

// Check reports the first way config breaks s: a required key missing, a
// value of the wrong type or scheme, or a key s does not take. The error
// starts with the key ("url: ...") and says what to fix; it never repeats
// a value, which may hold a token. A nil schema takes any config. The
// hub's gateway calls Check when a route is saved; a sink may call it in
// Deliver too, for routes saved before the adapter declared its schema.
func (s *TargetSchema) Check(config map[string]string) error {
	if s == nil {
		return nil
	}
	known := make(map[string]bool, len(s.Keys))
	for _, k := range s.Keys {
		known[k.Name] = true
		v := config[k.Name]
		if v == "" {
			if k.Required {
				return fmt.Errorf("%s: required: %s", k.Name, k.what())
			}
			continue
		}
		if err := k.check(v); err != nil {
			return fmt.Errorf("%s: %w", k.Name, err)
		}
	}
	if s.AllowOtherKeys {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(config)) {
		if known[name] {
			continue
		}
		msg := fmt.Sprintf("%s: not a key this destination takes; it takes %s", name, s.keyList())
		if near := s.nearest(name); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return errors.New(msg)
	}
	return nil
}

// check reads a non-empty value by the key's type.
func (k TargetKey) check(v string) error {
	switch k.Type {
	case KeyURL:
		return k.checkURL(v)
	case KeyInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return errors.New("must be a whole number in base 10, e.g. 30")
		}
	case KeyBool:
		if v != "true" && v != "false" {
			return errors.New(`must be "true" or "false"`)
		}
	default:
		if len(k.Values) > 0 && !slices.Contains(k.Values, v) {
			return fmt.Errorf("must be one of %s", quoteList(k.Values))
		}
	}
	return nil
}

// checkURL checks a KeyURL value. The value stays out of the messages:
// URLs such as chat apps' incoming webhooks carry a token.
func (k TargetKey) checkURL(v string) error {
	schemes := k.schemes()
	want := "an absolute " + schemeList(schemes) + " URL"
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("cannot be parsed as a URL: give %s", want)
	}
	if u.Scheme == "" {
		return fmt.Errorf("has no scheme: give %s", want)
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return fmt.Errorf("scheme %q is not allowed: give %s", u.Scheme, want)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("has no host: give %s, e.g. %s://example.com/hook", want, schemes[0])
	}
	if u.User != nil {
		return errors.New("carries a user or password (user:password@): routes are stored and read back in clear, so give the destination its credentials in its adapter's configuration")
	}
	return nil
}

func (k TargetKey) schemes() []string {
	if len(k.Schemes) == 0 {
		return defaultSchemes
	}
	return k.Schemes
}

// what describes a key for the message of a missing one.
func (k TargetKey) what() string {
	if k.Description != "" {
		return k.Description
	}
	switch k.Type {
	case KeyURL:
		return "an absolute " + schemeList(k.schemes()) + " URL"
	case KeyInt:
		return "a whole number"
	case KeyBool:
		return `"true" or "false"`
	}
	if len(k.Values) > 0 {
		return "one of " + quoteList(k.Values)
	}
	return "a non-empty value"
}

// keyList names the keys s takes, the required ones marked.
func (s *TargetSchema) keyList() string {
	if len(s.Keys) == 0 {
		return "none"
	}
	parts := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		parts[i] = k.Name
		if k.Required {
			parts[i] += " (required)"
		}
	}
	return strings.Join(parts, ", ")
}

// nearest is the key of s closest to name (a case difference or up to two
// edits), or "".
func (s *TargetSchema) nearest(name string) string {
	best, bestD := "", 3
	for _, k := range s.Keys {
		if strings.EqualFold(k.Name, name) {
			return k.Name
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func schemeList(schemes []string) string {
	parts := make([]string, len(schemes))
	for i, s := range schemes {
		parts[i] = s + "://"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func quoteList(values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = strconv.Quote(v)
	}
	return strings.Join(parts, ", ")
}

// validate reports a schema that cannot work: a key without a name, a name
// given twice, an unknown type, or options of another type's.
func (s *TargetSchema) validate() error {
	seen := map[string]bool{}
	for i, k := range s.Keys {
		switch {
		case strings.TrimSpace(k.Name) == "":
			return fmt.Errorf("targets: keys[%d] has no name", i)
		case seen[k.Name]:
			return fmt.Errorf("targets: key %q is declared twice", k.Name)
		case k.Type < KeyString || k.Type > KeyBool:
			return fmt.Errorf("targets: key %q has unknown type %d: use sdk.KeyString, KeyURL, KeyInt or KeyBool", k.Name, k.Type)
		case len(k.Schemes) > 0 && k.Type != KeyURL:
			return fmt.Errorf("targets: key %q sets Schemes but is not a KeyURL", k.Name)
		case len(k.Values) > 0 && k.Type != KeyString:
			return fmt.Errorf("targets: key %q sets Values but is not a KeyString", k.Name)
		}
		for _, sc := range k.Schemes {
			if sc == "" || sc != strings.ToLower(sc) || strings.Contains(sc, ":") {
				return fmt.Errorf("targets: key %q: scheme %q must be lower case without \"://\", e.g. \"https\"", k.Name, sc)
			}
		}
		seen[k.Name] = true
	}
	return nil
}

// checkSpecTargets refuses a Spec whose Targets cannot work, or that
// declares them for an adapter that is no Sink.
func checkSpecTargets(spec Spec, roles []string) error {
	if spec.Targets == nil {
		return nil
	}
	if !hasRole(roles, RoleSink) {
		return errors.New("spec targets: declared by an adapter that is not an sdk.Sink; only a destination takes target config")
	}
	return spec.Targets.validate()
}

// keyTypes maps KeyType to its wire form.
var keyTypes = map[KeyType]junctionv1.TargetKey_Type{
	KeyString: junctionv1.TargetKey_TYPE_STRING,
	KeyURL:    junctionv1.TargetKey_TYPE_URL,
	KeyInt:    junctionv1.TargetKey_TYPE_INTEGER,
	KeyBool:   junctionv1.TargetKey_TYPE_BOOLEAN,
}

// toProto is s as the adapter's registration carries it; nil for nil.
func (s *TargetSchema) toProto() *junctionv1.TargetSchema {
	if s == nil {
		return nil
	}
	out := &junctionv1.TargetSchema{AllowOtherKeys: s.AllowOtherKeys}
	for _, k := range s.Keys {
		out.Keys = append(out.Keys, &junctionv1.TargetKey{
			Name:        k.Name,
			Description: k.Description,
			Required:    k.Required,
			Type:        keyTypes[k.Type],
			UrlSchemes:  slices.Clone(k.Schemes),
			Values:      slices.Clone(k.Values),
		})
	}
	return out
}
