package github

import (
	"fmt"
	"strconv"

	"github.com/junctionhq/junction/adapters/internal/appmap"
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
	r, err := appmap.Parse(body)
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
	action := r.String("action", appmap.Optional)
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
		c := r.At("comment", appmap.Required)
		t.Comment = &modelv1.Comment{
			Id:         c.ID("id", appmap.Required),
			Body:       c.String("body", appmap.Optional),
			Author:     user(c, "user", appmap.Required),
			CreateTime: c.Time("created_at", appmap.Required),
		}
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
		e.Subject = subject(t)
		e.Time = t.Comment.GetCreateTime()
	case event == "pull_request":
		repo := repository(r)
		p := r.At("pull_request", appmap.Required)
		repo.Ref = p.String("head.ref", appmap.Required)
		repo.HeadSha = p.String("head.sha", appmap.Required)
		id := p.ID("id", appmap.Required)
		number, _ := p.Int("number", appmap.Required)
		repo.PullRequest = &modelv1.PullRequest{
			Id:      id,
			Number:  number,
			Title:   p.String("title", appmap.Required),
			State:   p.String("state", appmap.Required),
			Merged:  p.Bool("merged", appmap.Optional),
			HeadRef: repo.Ref,
			BaseRef: p.String("base.ref", appmap.Required),
			Url:     p.String("html_url", appmap.Required),
			Author:  user(p, "user", appmap.Required),
		}
		e.Model = &junctionv1.Event_Repository{Repository: repo}
		if repo.FullName != "" && repo.PullRequest.Number != 0 {
			e.Subject = repo.FullName + "#" + strconv.FormatInt(repo.PullRequest.Number, 10)
		}
		e.Time = p.Time("updated_at", appmap.Optional)
	case event == "push":
		e.Type = "repository.pushed"
		repo := repository(r)
		repo.Ref = r.String("ref", appmap.Required)
		repo.HeadSha = r.String("after", appmap.Required)
		if email := r.String("pusher.email", appmap.Optional); email != "" && repo.Actor != nil {
			repo.Actor.Email = email
		}
		e.Model = &junctionv1.Event_Repository{Repository: repo}
		e.Subject = repo.FullName
		// head_commit is null when a branch is deleted.
		e.Time = r.At("head_commit", appmap.Optional).Time("timestamp", appmap.Optional)
	default:
		// No canonical model: the type is the event and its action, the
		// subject the repository when there is one.
		e.Subject = r.String("repository.full_name", appmap.Optional)
	}
	e.MappingErrors = r.Errors()
	return e, nil
}

// ticket maps the issue of an issues or issue_comment payload.
func ticket(r appmap.Object) *modelv1.Ticket {
	is := r.At("issue", appmap.Required)
	t := &modelv1.Ticket{
		Id:          is.ID("id", appmap.Required),
		Title:       is.String("title", appmap.Required),
		Description: is.String("body", appmap.Optional),
		Status:      is.String("state", appmap.Required),
		Kind:        is.String("type.name", appmap.Optional),
		Project:     r.String("repository.full_name", appmap.Required),
		Reporter:    user(is, "user", appmap.Required),
		Assignee:    user(is, "assignee", appmap.Optional),
		Labels:      is.StringsOf("labels", "name", appmap.Optional),
		Url:         is.String("html_url", appmap.Required),
		CreateTime:  is.Time("created_at", appmap.Optional),
		UpdateTime:  is.Time("updated_at", appmap.Optional),
	}
	if n, _ := is.Int("number", appmap.Required); n != 0 {
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
func repository(r appmap.Object) *modelv1.Repository {
	repo := r.At("repository", appmap.Required)
	return &modelv1.Repository{
		Id:            repo.ID("id", appmap.Required),
		FullName:      repo.String("full_name", appmap.Required),
		Url:           repo.String("html_url", appmap.Required),
		DefaultBranch: repo.String("default_branch", appmap.Optional),
		Private:       repo.Bool("private", appmap.Optional),
		Actor:         user(r, "sender", appmap.Optional),
	}
}

// user maps a GitHub user object (id, login, email when public).
func user(r appmap.Object, path string, need appmap.Need) *modelv1.User {
	u := r.At(path, need)
	if !u.Present() {
		return nil
	}
	return &modelv1.User{
		Id:          u.ID("id", appmap.Required),
		DisplayName: u.String("login", appmap.Required),
		Email:       u.String("email", appmap.Optional),
	}
}
