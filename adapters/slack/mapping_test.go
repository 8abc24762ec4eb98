package slack_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack/slackevents"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/slack"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
)

// slackTS is the create time of Slack ts "1355517523.000005".
var slackTS = timestamppb.New(time.Unix(1355517523, 5000))

// TestMapping: Slack's documented sample events (api.slack.com/events/*),
// each first parsed by slack-go's slackevents.ParseEvent (so they are
// payloads Slack's own client library understands), become the hub type
// and canonical Message the docs table gives.
func TestMapping(t *testing.T) {
	for _, tt := range []struct {
		name        string
		inner       string
		wantType    string
		wantSubject string
		wantMessage *modelv1.Message // nil: no model
		wantErrors  []string         // mapping errors, "field: reason"
	}{
		{
			name:        "message",
			inner:       `{"type":"message","channel":"C123ABC456","user":"U123ABC456","text":"Hello world","ts":"1355517523.000005","event_ts":"1355517523.000005","channel_type":"channel","team":"T123ABC456"}`,
			wantType:    "message.posted",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1355517523.000005", ChannelId: "C123ABC456", Text: "Hello world", Sender: &modelv1.User{Id: "U123ABC456"},
				WorkspaceId: "T123ABC456", CreateTime: slackTS, Attributes: map[string]string{"channel_type": "channel"}},
		},
		{
			name:        "thread reply",
			inner:       `{"type":"message","channel":"C123ABC456","user":"U222","text":"Same here","ts":"1355517524.000001","thread_ts":"1355517523.000005","channel_type":"channel"}`,
			wantType:    "message.posted",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1355517524.000001", ChannelId: "C123ABC456", Text: "Same here", Sender: &modelv1.User{Id: "U222"},
				ThreadId: "1355517523.000005", WorkspaceId: "T123ABC456", CreateTime: timestamppb.New(time.Unix(1355517524, 1000)), Attributes: map[string]string{"channel_type": "channel"}},
		},
		{
			name:        "bot message",
			inner:       `{"type":"message","subtype":"bot_message","ts":"1358877455.000010","text":"Pushing is the answer","bot_id":"BB12033","username":"github","channel":"C123ABC456"}`,
			wantType:    "message.posted",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1358877455.000010", ChannelId: "C123ABC456", Text: "Pushing is the answer",
				Sender:      &modelv1.User{Id: "BB12033", DisplayName: "github", Attributes: map[string]string{"bot": "true"}},
				WorkspaceId: "T123ABC456", CreateTime: timestamppb.New(time.Unix(1358877455, 10000)),
				Attributes: map[string]string{"bot_id": "BB12033", "subtype": "bot_message"}},
		},
		{
			name:        "message changed",
			inner:       `{"type":"message","subtype":"message_changed","hidden":true,"channel":"C123ABC456","ts":"1358878755.000001","message":{"type":"message","user":"U123ABC456","text":"Hello, world!","ts":"1355517523.000005","edited":{"user":"U123ABC456","ts":"1358878755.000001"}}}`,
			wantType:    "message.changed",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1355517523.000005", ChannelId: "C123ABC456", Text: "Hello, world!", Sender: &modelv1.User{Id: "U123ABC456"},
				WorkspaceId: "T123ABC456", CreateTime: slackTS, Attributes: map[string]string{"subtype": "message_changed"}},
		},
		{
			name:        "message deleted",
			inner:       `{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C123ABC456","ts":"1358878755.000001","deleted_ts":"1358878749.000002"}`,
			wantType:    "message.deleted",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1358878749.000002", ChannelId: "C123ABC456", WorkspaceId: "T123ABC456", Attributes: map[string]string{"subtype": "message_deleted"}},
		},
		{
			name:        "channel join",
			inner:       `{"type":"message","subtype":"channel_join","ts":"1358877458.000011","user":"U2147483828","text":"<@U2147483828|cal> has joined the channel","channel":"C123ABC456"}`,
			wantType:    "message.channel.join",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1358877458.000011", ChannelId: "C123ABC456", Text: "<@U2147483828|cal> has joined the channel", Sender: &modelv1.User{Id: "U2147483828"},
				WorkspaceId: "T123ABC456", CreateTime: timestamppb.New(time.Unix(1358877458, 11000)), Attributes: map[string]string{"subtype": "channel_join"}},
		},
		{
			name:        "app mention",
			inner:       `{"type":"app_mention","user":"U061F7AUR","text":"<@U0LAN0Z89> is it everything a river should be?","ts":"1515449522.000016","channel":"C123ABC456","event_ts":"1515449522000016"}`,
			wantType:    "message.mentioned",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "1515449522.000016", ChannelId: "C123ABC456", Text: "<@U0LAN0Z89> is it everything a river should be?", Sender: &modelv1.User{Id: "U061F7AUR"},
				WorkspaceId: "T123ABC456", CreateTime: timestamppb.New(time.Unix(1515449522, 16000))},
		},
		{
			name:        "reaction added",
			inner:       `{"type":"reaction_added","user":"U123ABC456","reaction":"thumbsup","item_user":"U222222222","item":{"type":"message","channel":"C123ABC456","ts":"1360782400.498405"},"event_ts":"1360782804.083113"}`,
			wantType:    "reaction.added",
			wantSubject: "C123ABC456",
		},
		{
			name:        "member joined channel",
			inner:       `{"type":"member_joined_channel","user":"W06GH7XHN","channel":"C0698JE0H","channel_type":"C","team":"T024BE7LD","inviter":"U123456789"}`,
			wantType:    "member.joined.channel",
			wantSubject: "C0698JE0H",
		},
		{
			name:        "channel created",
			inner:       `{"type":"channel_created","channel":{"id":"C024BE91L","name":"fun","created":1360782804,"creator":"U024BE7LH"}}`,
			wantType:    "channel.created",
			wantSubject: "C024BE91L",
		},
		{
			name:        "message whose fields drifted",
			inner:       `{"type":"message","channel":"C123ABC456","text":42,"ts":"yesterday"}`,
			wantType:    "message.posted",
			wantSubject: "C123ABC456",
			wantMessage: &modelv1.Message{Id: "yesterday", ChannelId: "C123ABC456", WorkspaceId: "T123ABC456"},
			wantErrors:  []string{"event.text: is a number, want a string", "event.user: missing", `event.ts: is not a Slack timestamp like "1355517523.000005"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := callback("Ev0PV52K21", tt.inner)
			parsed, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
			if err != nil && tt.wantErrors == nil {
				t.Fatalf("slackevents.ParseEvent refuses the sample: %v", err)
			}
			if err == nil && parsed.Type != slackevents.CallbackEvent {
				t.Fatalf("slackevents.ParseEvent: outer type %q, want %q", parsed.Type, slackevents.CallbackEvent)
			}
			var c capture
			w := httptest.NewRecorder()
			newAdapter(t, slack.Config{}).Webhook(c.emit).ServeHTTP(w, signedBySlackGo(t, body))
			if w.Code != http.StatusOK || len(c.events) != 1 {
				t.Fatalf("answered %d %s with %d events, want 200 and one event", w.Code, w.Body, len(c.events))
			}
			e := c.events[0]
			if e.GetId() != "Ev0PV52K21" || e.GetSource() != "slack" || e.GetType() != tt.wantType || e.GetSubject() != tt.wantSubject {
				t.Errorf("event %s/%s %s subject %q, want slack/Ev0PV52K21 %s subject %q", e.GetSource(), e.GetId(), e.GetType(), e.GetSubject(), tt.wantType, tt.wantSubject)
			}
			if string(e.GetData()) != body || e.GetDataContentType() != "application/json" {
				t.Errorf("data is not the body byte for byte (%s)", e.GetDataContentType())
			}
			if !e.GetTime().AsTime().Equal(time.Unix(1355517523, 0)) {
				t.Errorf("time %v, want event_time 1355517523", e.GetTime().AsTime())
			}
			if diff := cmp.Diff(tt.wantMessage, e.GetMessage(), protocmp.Transform()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if tt.wantMessage == nil && e.GetModel() != nil {
				t.Errorf("model %v, want none", e.GetModel())
			}
			var gotErrors []string
			for _, m := range e.GetMappingErrors() {
				gotErrors = append(gotErrors, m.GetField()+": "+m.GetReason())
			}
			if diff := cmp.Diff(tt.wantErrors, gotErrors); diff != "" {
				t.Errorf("mapping errors (-want +got):\n%s", diff)
			}
		})
	}
}
