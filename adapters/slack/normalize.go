package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/internal/mapping"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// kind is what a verified request asks of the adapter.
type kind int

const (
	kindEvent       kind = iota // an event_callback: store it
	kindChallenge               // url_verification: echo the challenge
	kindRateLimited             // app_rate_limited: Slack drops events for a minute
)

// parsed is a verified request body, understood.
type parsed struct {
	kind      kind
	challenge string
	team      string
	minute    string
	event     *junctionv1.Event
}

// The outer types of the Events API.
const (
	outerCallback    = "event_callback"
	outerChallenge   = "url_verification"
	outerRateLimited = "app_rate_limited"
)

// normalize reads an Events API request body. An error says what is wrong
// with the body (answered 400); fields the canonical model needs that are
// missing or of another type are the event's mapping errors instead.
func normalize(body []byte) (parsed, error) {
	v, err := mapping.Decode(body)
	if err != nil {
		return parsed{}, fmt.Errorf("body is not JSON (%v): send the Events API payload as application/json", err)
	}
	outer, ok := v.(map[string]any)
	if !ok {
		return parsed{}, errors.New(`body must be a JSON object with "type", e.g. {"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}`)
	}
	typ, _ := outer["type"].(string)
	switch typ {
	case outerChallenge:
		c, _ := outer["challenge"].(string)
		if c == "" {
			return parsed{}, errors.New(`url_verification body has no "challenge" string to answer`)
		}
		return parsed{kind: kindChallenge, challenge: c}, nil
	case outerRateLimited:
		team, _ := outer["team_id"].(string)
		minute := ""
		if n, ok := outer["minute_rate_limited"].(json.Number); ok {
			minute = n.String()
		}
		return parsed{kind: kindRateLimited, team: team, minute: minute}, nil
	case outerCallback:
	default:
		return parsed{}, fmt.Errorf("body type %q is not one the Events API sends: want %q, %q or %q", clip.String(typ), outerCallback, outerChallenge, outerRateLimited)
	}
	id, _ := outer["event_id"].(string)
	if id == "" {
		return parsed{}, errors.New(`event_callback body has no "event_id" string: it is the event's id`)
	}
	inner, ok := outer["event"].(map[string]any)
	if !ok {
		return parsed{}, errors.New(`event_callback body has no "event" object`)
	}
	innerType, _ := inner["type"].(string)
	if innerType == "" {
		return parsed{}, errors.New(`event_callback body's "event" has no "type" string`)
	}
	subtype, _ := inner["subtype"].(string)
	e := &junctionv1.Event{
		Id:              id,
		Source:          Spec.App,
		DataContentType: "application/json",
		Data:            body,
		Subject:         channelOf(inner),
	}
	if n, ok := outer["event_time"].(json.Number); ok {
		if s, err := n.Int64(); err == nil && s > 0 {
			e.Time = timestamppb.New(time.Unix(s, 0))
		}
	}
	team, _ := outer["team_id"].(string)
	var r mapping.Reader
	switch innerType {
	case "message":
		e.Type, e.Model = messageEvent(&r, inner, subtype, team)
	case "app_mention":
		e.Type = "message.mentioned"
		e.Model = &junctionv1.Event_Message{Message: message(&r, inner, "event", inner, team)}
	default:
		e.Type = dotted(innerType)
		if subtype != "" {
			e.Type += "." + dotted(subtype)
		}
	}
	e.MappingErrors = r.Errors()
	return parsed{kind: kindEvent, event: e}, nil
}

// messageEvent maps a message event by its subtype: new messages of any
// kind are message.posted; edits, deletions and replies have their own
// types; other subtypes (channel_join, ...) are message.<subtype>.
func messageEvent(r *mapping.Reader, ev mapping.Object, subtype, team string) (string, *junctionv1.Event_Message) {
	typ := "message.posted"
	msg, base := ev, "event"
	switch subtype {
	case "", "bot_message", "me_message", "file_share", "thread_broadcast":
	case "message_changed", "message_replied":
		typ = "message." + strings.TrimPrefix(subtype, "message_")
		msg, base = r.Obj(ev, "event", "message", true), "event.message"
	case "message_deleted":
		m := &modelv1.Message{
			Id:          r.Str(ev, "event", "deleted_ts", true),
			ChannelId:   r.Str(ev, "event", "channel", true),
			WorkspaceId: team,
			Attributes:  map[string]string{"subtype": subtype},
		}
		return "message.deleted", &junctionv1.Event_Message{Message: m}
	default:
		typ = "message." + dotted(strings.TrimPrefix(subtype, "message_"))
	}
	m := message(r, msg, base, ev, team)
	if subtype != "" {
		if m.Attributes == nil {
			m.Attributes = map[string]string{}
		}
		m.Attributes["subtype"] = subtype
	}
	return typ, &junctionv1.Event_Message{Message: m}
}

// message maps a Slack message object (at base in the payload) onto
// Message; the channel comes from ev, the event, which holds the message
// or is it.
func message(r *mapping.Reader, msg mapping.Object, base string, ev mapping.Object, team string) *modelv1.Message {
	m := &modelv1.Message{
		Id:        r.Str(msg, base, "ts", true),
		ChannelId: r.Str(ev, "event", "channel", true),
		Text:      r.Str(msg, base, "text", true),
		ThreadId:  r.Str(msg, base, "thread_ts", false),
	}
	if msg == nil {
		return m
	}
	user := r.Str(msg, base, "user", false)
	bot := r.Str(msg, base, "bot_id", false)
	switch {
	case user != "":
		m.Sender = &modelv1.User{Id: user}
	case bot != "":
		m.Sender = &modelv1.User{Id: bot, DisplayName: r.Str(msg, base, "username", false), Attributes: map[string]string{"bot": "true"}}
	default:
		r.Fail(base+".user", "missing")
	}
	m.WorkspaceId = r.Str(msg, base, "team", false)
	if m.WorkspaceId == "" {
		m.WorkspaceId = team
	}
	if m.Id != "" {
		if t, ok := slackTime(m.Id); ok {
			m.CreateTime = timestamppb.New(t)
		} else {
			r.Fail(base+".ts", `is not a Slack timestamp like "1355517523.000005"`)
		}
	}
	attrs := map[string]string{}
	for _, k := range []string{"channel_type", "client_msg_id", "bot_id", "app_id"} {
		if s, ok := msg[k].(string); ok && s != "" {
			attrs[k] = s
		} else if s, ok := ev[k].(string); ok && s != "" {
			attrs[k] = s
		}
	}
	if len(attrs) > 0 {
		m.Attributes = attrs
	}
	return m
}

// slackTime reads a Slack ts, "<unix seconds>.<microseconds>".
func slackTime(ts string) (time.Time, bool) {
	secs, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, false
	}
	var us int64
	if frac != "" {
		if len(frac) > 6 {
			return time.Time{}, false
		}
		if us, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil || us < 0 {
			return time.Time{}, false
		}
	}
	return time.Unix(s, us*1000).UTC(), true
}

// channelOf is the event's channel id, the event subject: "channel" as a
// string, a channel object's "id" (channel_created), or the reacted-to
// item's channel.
func channelOf(ev mapping.Object) string {
	switch c := ev["channel"].(type) {
	case string:
		return c
	case map[string]any:
		if id, ok := c["id"].(string); ok {
			return id
		}
	}
	if item, ok := ev["item"].(map[string]any); ok {
		if c, ok := item["channel"].(string); ok {
			return c
		}
	}
	return ""
}

// dotted turns a Slack name into type words: lower case, '_' a dot
// ("reaction_added" -> "reaction.added"); any other character than
// a-z, 0-9 and '-' becomes '-', and empty words are dropped.
func dotted(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case c == '_' || c == '.':
			b.WriteByte('.')
		default:
			b.WriteByte('-')
		}
	}
	words := strings.FieldsFunc(b.String(), func(c rune) bool { return c == '.' })
	if len(words) == 0 {
		return "unknown"
	}
	out := strings.Join(words, ".")
	if len(out) > 90 {
		out = strings.TrimRight(out[:90], ".")
	}
	return out
}
