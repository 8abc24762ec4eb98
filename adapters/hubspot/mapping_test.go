package hubspot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/junctionhq/junction/adapters/hubspot"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestMapping: HubSpot's documented notifications (the webhooks API
// payload tables and samples) become the hub type and canonical message
// of docs/adapters/hubspot.md, each as its own event with its eventId.
func TestMapping(t *testing.T) {
	const occurred = 1462216307945
	for _, tt := range []struct {
		name       string
		el         string // one notification
		wantType   string
		wantModel  proto.Message // nil: no model
		wantErrors []string      // "field: reason"
	}{
		{
			name:      "contact.creation",
			el:        `{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1462216307945,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}`,
			wantType:  "contact.created",
			wantModel: &modelv1.Contact{Id: "123"},
		},
		{
			name:      "contact.propertyChange lifecyclestage",
			el:        `{"objectId":1246965,"propertyName":"lifecyclestage","propertyValue":"subscriber","changeSource":"ACADEMY","eventId":1,"subscriptionId":25,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","attemptNumber":0}`,
			wantType:  "contact.updated",
			wantModel: &modelv1.Contact{Id: "1246965", Attributes: map[string]string{"lifecyclestage": "subscriber"}},
		},
		{
			name:      "contact.propertyChange email",
			el:        `{"objectId":1246965,"propertyName":"email","propertyValue":"jane@example.com","changeSource":"CRM_UI","eventId":1,"subscriptionId":26,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","attemptNumber":0}`,
			wantType:  "contact.updated",
			wantModel: &modelv1.Contact{Id: "1246965", Email: "jane@example.com", Attributes: map[string]string{"email": "jane@example.com"}},
		},
		{
			name:      "contact.deletion",
			el:        `{"objectId":1246965,"changeSource":"CRM_UI","eventId":1,"subscriptionId":27,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.deletion","attemptNumber":0}`,
			wantType:  "contact.deleted",
			wantModel: &modelv1.Contact{Id: "1246965"},
		},
		{
			name:      "contact.privacyDeletion",
			el:        `{"objectId":1246965,"eventId":1,"subscriptionId":28,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.privacyDeletion","attemptNumber":0}`,
			wantType:  "contact.privacy_deleted",
			wantModel: &modelv1.Contact{Id: "1246965"},
		},
		{
			name:      "contact.merge",
			el:        `{"objectId":1246965,"primaryObjectId":1246965,"mergedObjectIds":[1246978],"newObjectId":1246965,"numberOfPropertiesMoved":12,"eventId":1,"subscriptionId":29,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.merge","attemptNumber":0}`,
			wantType:  "contact.merged",
			wantModel: &modelv1.Contact{Id: "1246965"},
		},
		{
			name:     "contact.associationChange",
			el:       `{"eventId":1,"subscriptionId":30,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"contact.associationChange","attemptNumber":0,"changeSource":"USER","associationType":"CONTACT_TO_COMPANY","fromObjectId":1246965,"toObjectId":5738,"associationRemoved":false,"isPrimaryAssociation":true}`,
			wantType: "contact.association_changed",
			wantModel: &modelv1.Contact{Id: "1246965", Attributes: map[string]string{
				"association_type": "CONTACT_TO_COMPANY", "to_object_id": "5738", "association_removed": "false"}},
		},
		{
			name:      "company.creation",
			el:        `{"objectId":5738,"changeSource":"CRM_UI","eventId":1,"subscriptionId":59,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"company.creation","attemptNumber":0}`,
			wantType:  "company.created",
			wantModel: &modelv1.Company{Id: "5738"},
		},
		{
			name:      "company.propertyChange domain",
			el:        `{"objectId":5738,"propertyName":"domain","propertyValue":"example.com","changeSource":"CRM_UI","eventId":1,"subscriptionId":60,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"company.propertyChange","attemptNumber":0}`,
			wantType:  "company.updated",
			wantModel: &modelv1.Company{Id: "5738", Domain: "example.com", Attributes: map[string]string{"domain": "example.com"}},
		},
		{
			name:      "deal.creation",
			el:        `{"objectId":4055127,"changeSource":"CRM_UI","eventId":1,"subscriptionId":108,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"deal.creation","attemptNumber":0}`,
			wantType:  "deal.created",
			wantModel: &modelv1.Deal{Id: "4055127"},
		},
		{
			name:      "deal.propertyChange dealstage",
			el:        `{"objectId":4055127,"propertyName":"dealstage","propertyValue":"closedwon","changeSource":"CRM_UI","eventId":1,"subscriptionId":109,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"deal.propertyChange","attemptNumber":0}`,
			wantType:  "deal.updated",
			wantModel: &modelv1.Deal{Id: "4055127", Stage: "closedwon", Attributes: map[string]string{"dealstage": "closedwon"}},
		},
		{
			name:      "deal.deletion",
			el:        `{"objectId":4055127,"changeSource":"CRM_UI","eventId":1,"subscriptionId":110,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"deal.deletion","attemptNumber":0}`,
			wantType:  "deal.deleted",
			wantModel: &modelv1.Deal{Id: "4055127"},
		},
		{
			name:      "ticket.propertyChange priority",
			el:        `{"objectId":981,"propertyName":"hs_ticket_priority","propertyValue":"HIGH","changeSource":"CRM_UI","eventId":1,"subscriptionId":120,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"ticket.propertyChange","attemptNumber":0}`,
			wantType:  "ticket.updated",
			wantModel: &modelv1.Ticket{Id: "981", Priority: "high", Attributes: map[string]string{"hs_ticket_priority": "HIGH"}},
		},
		{
			name:      "generic object.creation of a contact",
			el:        `{"eventId":1,"subscriptionId":2,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"object.creation","attemptNumber":0,"objectId":123,"objectTypeId":"0-1","changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:45678"}`,
			wantType:  "contact.created",
			wantModel: &modelv1.Contact{Id: "123"},
		},
		{
			name:     "product.creation",
			el:       `{"objectId":77,"changeSource":"CRM_UI","eventId":1,"subscriptionId":130,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"product.creation","attemptNumber":0}`,
			wantType: "product.created",
		},
		{
			name:     "line_item.propertyChange",
			el:       `{"objectId":78,"propertyName":"quantity","propertyValue":"2","eventId":1,"subscriptionId":131,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"line_item.propertyChange","attemptNumber":0}`,
			wantType: "line_item.updated",
		},
		{
			name:     "conversation.newMessage",
			el:       `{"objectId":5114,"messageId":"a7f3","messageType":"MESSAGE","eventId":1,"subscriptionId":140,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"subscriptionType":"conversation.newMessage","attemptNumber":0}`,
			wantType: "conversation.message_received",
		},
		{
			name:       "older name eventType",
			el:         `{"objectId":1246978,"changeSource":"IMPORT","eventId":1,"subscriptionId":22,"portalId":33,"appId":1160452,"occurredAt":1462216307945,"eventType":"contact.creation","attemptNumber":0}`,
			wantType:   "contact.created",
			wantModel:  &modelv1.Contact{Id: "1246978"},
			wantErrors: []string{"subscriptionType: missing; read eventType"},
		},
		{
			name:       "fields drifted",
			el:         `{"objectId":true,"propertyName":"email","propertyValue":42,"eventId":1,"occurredAt":"yesterday","subscriptionType":"contact.propertyChange"}`,
			wantType:   "contact.updated",
			wantModel:  &modelv1.Contact{},
			wantErrors: []string{"occurredAt: is a string, want Unix milliseconds", "objectId: is a boolean, want a string or an integer", "propertyValue: is a number, want a string"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := "[" + tt.el + "]"
			var c capture
			w := httptest.NewRecorder()
			newAdapter(t, hubspot.Config{}).Webhook(c.emit).ServeHTTP(w, post(body, "/webhooks/hubspot", time.Now(), secret))
			if w.Code != http.StatusOK || len(c.events) != 1 {
				t.Fatalf("answered %d %s with %d events, want 200 and one event", w.Code, w.Body, len(c.events))
			}
			e := c.events[0]
			if e.GetId() != "1" || e.GetSource() != "hubspot" || e.GetType() != tt.wantType {
				t.Errorf("event %s/%s %s, want hubspot/1 %s", e.GetSource(), e.GetId(), e.GetType(), tt.wantType)
			}
			if string(e.GetData()) != tt.el || e.GetDataContentType() != "application/json" {
				t.Errorf("data %s, want the notification byte for byte", e.GetData())
			}
			if tt.wantErrors == nil && !e.GetTime().AsTime().Equal(time.UnixMilli(occurred)) {
				t.Errorf("time %v, want occurredAt", e.GetTime().AsTime())
			}
			var got proto.Message
			switch m := e.GetModel().(type) {
			case *junctionv1.Event_Contact:
				got = m.Contact
			case *junctionv1.Event_Company:
				got = m.Company
			case *junctionv1.Event_Deal:
				got = m.Deal
			case *junctionv1.Event_Ticket:
				got = m.Ticket
			case nil:
			default:
				t.Fatalf("model %T", m)
			}
			if diff := cmp.Diff(tt.wantModel, got, protocmp.Transform()); diff != "" {
				t.Errorf("model (-want +got):\n%s", diff)
			}
			if want := modelID(tt.wantModel); e.GetSubject() != want && tt.wantModel != nil {
				t.Errorf("subject %q, want the object id %q", e.GetSubject(), want)
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

func modelID(m proto.Message) string {
	if m == nil {
		return ""
	}
	s := strings.TrimSpace(m.ProtoReflect().Get(m.ProtoReflect().Descriptor().Fields().ByName("id")).String())
	return s
}
