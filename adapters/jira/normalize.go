package jira

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/internal/fields"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// ticketTypes are the webhook events mapped onto a Ticket and their hub
// types; every other event keeps a type derived from its name (see
// [Type]) and has no model.
var ticketTypes = map[string]string{
	"jira:issue_created": "ticket.created",
	"jira:issue_updated": "ticket.updated",
	"jira:issue_deleted": "ticket.deleted",
	"comment_created":    "ticket.commented",
	"comment_updated":    "ticket.comment_updated",
}

// webhookEventName is what Jira's webhookEvent holds: lower case words
// joined by '_', with an optional "jira:" style prefix.
var webhookEventName = regexp.MustCompile(`^([a-z][a-z0-9_]{0,30}:)?[a-z][a-z0-9_]{0,62}$`)

// maxMillis is the last millisecond of year 9999, the end of what a
// protobuf Timestamp holds.
const maxMillis = 253402300799999

// jiraTime is how Jira writes times, e.g. 2026-12-06T23:15:00.000+0100.
const jiraTime = "2006-01-02T15:04:05.000-0700"

// Type returns the hub type of a Jira webhookEvent: the mapped type of
// issue and comment events, else the name without its "jira:" prefix and
// with its last '_' made a '.' (project_created -> project.created,
// jira:version_released -> version.released, sprint_started ->
// sprint.started).
func Type(webhookEvent string) string {
	if t, ok := ticketTypes[webhookEvent]; ok {
		return t
	}
	name := webhookEvent
	if _, after, ok := strings.Cut(name, ":"); ok {
		name = after
	}
	if i := strings.LastIndexByte(name, '_'); i > 0 && i < len(name)-1 {
		name = name[:i] + "." + name[i+1:]
	}
	return name
}

// EventID is the hub event id of a Jira request: its
// X-Atlassian-Webhook-Identifier and the payload's timestamp (Unix
// milliseconds), "<identifier>-<timestamp>". A retry repeats both, so it
// is the same event; the timestamp keeps ids apart should an identifier
// ever be reused, e.g. by another Jira site posting to the same source.
// With no timestamp in the payload the identifier alone is the id.
func EventID(identifier string, timestamp int64) string {
	if timestamp <= 0 {
		return identifier
	}
	return identifier + "-" + strconv.FormatInt(timestamp, 10)
}

// Normalize maps one Jira webhook request onto a hub event: identifier is
// X-Atlassian-Webhook-Identifier, body the payload. It fails when body is
// not a JSON object or has no webhookEvent to take the type from; a
// payload that does not fit the mapping is still an event, with its
// mapping errors listed.
func Normalize(identifier string, body []byte) (*junctionv1.Event, error) {
	if identifier == "" {
		return nil, errors.New("the request has no identifier: send " + IdentifierHeader)
	}
	r, err := fields.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: send the webhook's JSON payload", err)
	}
	name, _ := r.Raw("webhookEvent")
	event, _ := name.(string)
	if !webhookEventName.MatchString(event) {
		return nil, fmt.Errorf(`body's "webhookEvent" %s must name a Jira webhook event, e.g. "jira:issue_created"`, clip.N(fmt.Sprintf("%q", event), 80))
	}
	ts := r.Int("timestamp", fields.Required)
	if ts < 0 || ts > maxMillis {
		r.Fail("timestamp", fmt.Sprintf("is %d, want Unix milliseconds", ts))
		ts = 0
	}
	e := &junctionv1.Event{
		Id:              EventID(identifier, ts),
		Source:          Spec.App,
		Type:            Type(event),
		DataContentType: "application/json",
		Data:            body,
	}
	if ts > 0 {
		e.Time = timestamppb.New(time.UnixMilli(ts))
	}
	switch event {
	case "jira:issue_created", "jira:issue_updated", "jira:issue_deleted":
		t := ticket(r)
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
		e.Subject = t.GetKey()
	case "comment_created", "comment_updated":
		t := ticket(r)
		c := r.At("comment", fields.Required)
		t.Comment = &modelv1.Comment{
			Id:         c.ID("id", fields.Required),
			Body:       text(c, "body", fields.Optional),
			Author:     user(c, "author", fields.Required),
			CreateTime: c.Time("created", fields.Optional, jiraTime),
		}
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
		e.Subject = t.GetKey()
	default:
		if _, ok := r.Raw("issue"); ok {
			e.Subject = r.String("issue.key", fields.Optional)
		} else if _, ok := r.Raw("project"); ok {
			e.Subject = r.String("project.key", fields.Optional)
		}
	}
	e.MappingErrors = r.Errors()
	return e, nil
}

// ticket maps the issue of an issue or comment payload. Comment payloads
// carry fewer issue fields (no reporter, labels or times), and none of
// those is required.
func ticket(r *fields.Reader) *modelv1.Ticket {
	is := r.At("issue", fields.Required)
	f := is.At("fields", fields.Required)
	t := &modelv1.Ticket{
		Id:          is.ID("id", fields.Required),
		Key:         is.String("key", fields.Required),
		Title:       f.String("summary", fields.Required),
		Description: text(f, "description", fields.Optional),
		Status:      f.String("status.name", fields.Required),
		Priority:    strings.ToLower(f.String("priority.name", fields.Optional)),
		Kind:        f.String("issuetype.name", fields.Required),
		Project:     f.String("project.key", fields.Required),
		Reporter:    user(f, "reporter", fields.Optional),
		Assignee:    user(f, "assignee", fields.Optional),
		Labels:      f.Strings("labels", "", fields.Optional),
		CreateTime:  f.Time("created", fields.Optional, jiraTime),
		UpdateTime:  f.Time("updated", fields.Optional, jiraTime),
	}
	if self := is.String("self", fields.Required); self != "" {
		t.Attributes = map[string]string{"self": self}
		u, err := url.Parse(self)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			is.Fail("self", fmt.Sprintf("is %q, want the issue's REST URL, e.g. https://example.atlassian.net/rest/api/2/issue/10002", clip.N(self, 80)))
		} else if t.Key != "" {
			t.Url = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/browse/" + t.Key}).String()
		}
	}
	return t
}

// user maps a Jira user: Cloud identifies users by accountId, Data Center
// by name.
func user(r *fields.Reader, path string, need fields.Need) *modelv1.User {
	u := r.At(path, need)
	if u == nil {
		return nil
	}
	m := &modelv1.User{
		Id:          u.String("accountId", fields.Optional),
		DisplayName: u.String("displayName", fields.Optional),
		Email:       u.String("emailAddress", fields.Optional),
	}
	if m.Id == "" {
		if m.Id = u.String("name", fields.Optional); m.Id == "" {
			u.Fail("accountId", "missing")
		}
	}
	return m
}

// text reads a rich text field: Jira sends wiki markup as a string, or an
// Atlassian Document Format object whose text nodes are joined.
func text(r *fields.Reader, path string, need fields.Need) string {
	v, ok := r.Raw(path)
	if !ok {
		return r.String(path, need) // records a required one as missing
	}
	doc, isDoc := v.(map[string]any)
	if !isDoc {
		return r.String(path, need)
	}
	var b strings.Builder
	adfText(&b, doc, 0)
	return strings.TrimSpace(b.String())
}

// adfText appends the text of an Atlassian Document Format node, a line
// break after each paragraph-like block. depth bounds hostile nesting.
func adfText(b *strings.Builder, node map[string]any, depth int) {
	if depth > 64 {
		return
	}
	if s, ok := node["text"].(string); ok {
		b.WriteString(s)
	}
	content, _ := node["content"].([]any)
	for _, c := range content {
		if child, ok := c.(map[string]any); ok {
			adfText(b, child, depth+1)
		}
	}
	switch node["type"] {
	case "paragraph", "heading", "codeBlock", "listItem", "hardBreak":
		b.WriteByte('\n')
	}
}
