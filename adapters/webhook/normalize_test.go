package webhook

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestEventTime(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		field   string
		want    time.Time
		wantErr bool
	}{
		{name: "default timestamp", body: `{"timestamp":"2026-06-20T19:08:41Z"}`, want: time.Date(2026, 6, 20, 19, 8, 41, 0, time.UTC)},
		{name: "default time with offset", body: `{"time":"2026-06-20T21:08:41.5+02:00"}`, want: time.Date(2026, 6, 20, 19, 8, 41, 5e8, time.UTC)},
		{name: "default created_at unix", body: `{"created_at":1781982521}`, want: time.Unix(1781982521, 0)},
		{name: "default unreadable is skipped", body: `{"timestamp":"noon","time":"2026-06-20T19:08:41Z"}`, want: time.Date(2026, 6, 20, 19, 8, 41, 0, time.UTC)},
		{name: "none", body: `{"x":1}`},
		{name: "configured dot path", body: `{"meta":{"at":"2026-01-01T00:00:00Z"}}`, field: "meta.at", want: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "configured missing", body: `{"timestamp":"2026-01-01T00:00:00Z"}`, field: "meta.at"},
		{name: "configured unreadable", body: `{"meta":{"at":"noon"}}`, field: "meta.at", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := parseObject([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := eventTime(obj, tt.field)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("eventTime(%s, %q) = %v, %v; want %v, error %v", tt.body, tt.field, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSetModel(t *testing.T) {
	tests := []struct {
		name  string
		model string
		body  string
		want  *junctionv1.Event
	}{
		{
			name: "user at top level with display name and attributes", model: ModelUser,
			body: `{"type":"user.created","id":"u7","email":"a@b.c","name":"Sam Lee","organization":"Initech","created_at":"2026-02-03T04:05:06Z","admin":true,"logins":3,"tags":["x"]}`,
			want: &junctionv1.Event{Subject: "u7", Model: &junctionv1.Event_User{User: &modelv1.User{
				Id: "u7", Email: "a@b.c", DisplayName: "Sam Lee", Company: "Initech",
				CreateTime: timestamppb.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)),
				Attributes: map[string]string{"admin": "true", "logins": "3"},
			}}},
		},
		{
			name: "contact from data", model: ModelContact,
			body: `{"type":"contact.created","data":{"contact_id":99,"email":"k@x.io","last_name":"Ng","lead_source":"ads"}}`,
			want: &junctionv1.Event{Subject: "99", Model: &junctionv1.Event_Contact{Contact: &modelv1.Contact{
				Id: "99", Email: "k@x.io", LastName: "Ng", LeadSource: "ads",
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := parseObject([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := &junctionv1.Event{}
			setModel(got, tt.model, obj)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("setModel differs (-want +got):\n%s", diff)
			}
		})
	}
}
