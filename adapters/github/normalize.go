package github

import (
	"fmt"
	"strconv"

	"github.com/junctionhq/junction/adapters/internal/fields"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// issueTypes maps the issues actions with a canonical type; the other
// actions keep "issues.<action>".
var issueTypes = map[string]string{
	"opened":   "ticket.created",
	"edited":   "ticket.updated",
	"closed":   "ticket.closed",
	"reopened": "ticket.reopened",
}

// Normalize maps one GitHub delivery onto a hub event: event is
// X-GitHub-Event, delivery X-GitHub-Delivery, apiVersion
// X-GitHub-Api-Version ("" when not sent), body the payload. It fails only
// when body is not a JSON object; a payload that does not fit the mapping
// is still an event, with its mapping errors listed.
func Normalize(event, delivery, apiVersion string, body []byte) (*junctionv1.Event, error) {
	if !eventName.MatchString(event) {
		return nil, fmt.Errorf("event %q must be a GitHub event name, e.g. issues", clip.N(event, 64))
	}
	r, err := fields.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: send the event's JSON payload", err)
	}
	e := &junctionv1.Event{
		Id:              delivery,
		Source:          Spec.App,
		DataContentType: "application/json",
		Data:            body,
		ProviderVersion: apiVersion,
	}
	action := r.String("action", fields.Optional)
	if action != "" && !eventName.MatchString(action) {
		r.Fail("action", fmt.Sprintf("is %q, want a lower case word like opened", action))
		action = ""
	}
	e.Type = event
	if action != "" {
		e.Type = event + "." + action
	}
	switch {
	case event == "issues" && issueTypes[action] != "":
		e.Type = issueTypes[action]
		t := ticket(r)
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
		e.Subject = subject(t)
		e.Time = t.GetUpdateTime()
	case event == "issue_comment" && action == "created":
		e.Type = "ticket.commented"
		t := ticket(r)
		c := r.At("comment", fields.Required)
		t.Comment = &modelv1.Comment{
			Id:         c.ID("id", fields.Required),
			Body:       c.String("body", fields.Optional),
			Author:     user(c, "user", fields.Required),
			CreateTime: c.Time("created_at", fields.Required),
		}
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
		e.Subject = subject(t)
		e.Time = t.Comment.GetCreateTime()
	case event == "pull_request":
		repo := repository(r)
		p := r.At("pull_request", fields.Required)
		repo.Ref = p.String("head.ref", fields.Required)
		repo.HeadSha = p.String("head.sha", fields.Required)
		repo.PullRequest = &modelv1.PullRequest{
			Id:      p.ID("id", fields.Required),
			Number:  p.Int("number", fields.Required),
			Title:   p.String("title", fields.Required),
			State:   p.String("state", fields.Required),
			Merged:  p.Bool("merged", fields.Optional),
			HeadRef: repo.Ref,
			BaseRef: p.String("base.ref", fields.Required),
			Url:     p.String("html_url", fields.Required),
			Author:  user(p, "user", fields.Required),
		}
		e.Model = &junctionv1.Event_Repository{Repository: repo}
		if repo.FullName != "" && repo.PullRequest.Number != 0 {
			e.Subject = repo.FullName + "#" + strconv.FormatInt(repo.PullRequest.Number, 10)
		}
		e.Time = p.Time("updated_at", fields.Optional)
	case event == "push":
		e.Type = "repository.pushed"
		repo := repository(r)
		repo.Ref = r.String("ref", fields.Required)
		repo.HeadSha = r.String("after", fields.Required)
		if email := r.String("pusher.email", fields.Optional); email != "" && repo.Actor != nil {
			repo.Actor.Email = email
		}
		e.Model = &junctionv1.Event_Repository{Repository: repo}
		e.Subject = repo.FullName
		// head_commit is null when a branch is deleted.
		e.Time = r.At("head_commit", fields.Optional).Time("timestamp", fields.Optional)
	default:
		// No canonical model: the type is the event and its action, the
		// subject the repository when there is one.
		e.Subject = r.String("repository.full_name", fields.Optional)
	}
	e.MappingErrors = r.Errors()
	return e, nil
}

// ticket maps the issue of an issues or issue_comment payload.
func ticket(r *fields.Reader) *modelv1.Ticket {
	is := r.At("issue", fields.Required)
	t := &modelv1.Ticket{
		Id:          is.ID("id", fields.Required),
		Title:       is.String("title", fields.Required),
		Description: is.String("body", fields.Optional),
		Status:      is.String("state", fields.Required),
		Kind:        is.String("type.name", fields.Optional),
		Project:     r.String("repository.full_name", fields.Required),
		Reporter:    user(is, "user", fields.Required),
		Assignee:    user(is, "assignee", fields.Optional),
		Labels:      is.Strings("labels", "name", fields.Optional),
		Url:         is.String("html_url", fields.Required),
		CreateTime:  is.Time("created_at", fields.Optional),
		UpdateTime:  is.Time("updated_at", fields.Optional),
	}
	if n := is.Int("number", fields.Required); n != 0 {
		t.Key = strconv.FormatInt(n, 10)
	}
	if _, isPR := is.Raw("pull_request"); isPR {
		// GitHub sends issue_comment for comments on pull requests too.
		t.Attributes = map[string]string{"pull_request": "true"}
	}
	return t
}

// subject is "<owner>/<repo>#<number>", the issue's name on GitHub.
func subject(t *modelv1.Ticket) string {
	if t.GetProject() == "" || t.GetKey() == "" {
		return ""
	}
	return t.GetProject() + "#" + t.GetKey()
}

// repository maps a payload's repository and sender.
func repository(r *fields.Reader) *modelv1.Repository {
	repo := r.At("repository", fields.Required)
	return &modelv1.Repository{
		Id:            repo.ID("id", fields.Required),
		FullName:      repo.String("full_name", fields.Required),
		Url:           repo.String("html_url", fields.Required),
		DefaultBranch: repo.String("default_branch", fields.Optional),
		Private:       repo.Bool("private", fields.Optional),
		Actor:         user(r, "sender", fields.Optional),
	}
}

// user maps a GitHub user object (id, login, email when public).
func user(r *fields.Reader, path string, need fields.Need) *modelv1.User {
	u := r.At(path, need)
	if u == nil {
		return nil
	}
	return &modelv1.User{
		Id:          u.ID("id", fields.Required),
		DisplayName: u.String("login", fields.Required),
		Email:       u.String("email", fields.Optional),
	}
}
