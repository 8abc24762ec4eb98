package hubspot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/internal/mapping"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// verbs maps the event part of a subscriptionType onto the type's verb.
var verbs = map[string]string{
	"creation":          "created",
	"deletion":          "deleted",
	"propertyChange":    "updated",
	"privacyDeletion":   "privacy_deleted",
	"merge":             "merged",
	"restore":           "restored",
	"associationChange": "association_changed",
	"newMessage":        "message_received",
}

// objectTypes names the objectTypeId of generic ("object.*")
// subscriptions.
var objectTypes = map[string]string{
	"0-1": "contact", "0-2": "company", "0-3": "deal", "0-5": "ticket",
	"0-7": "product", "0-8": "line_item",
}

// maxListed is how many bad notifications an answer names.
const maxListed = 5

// normalize splits a verified request body, a JSON array of HubSpot
// notifications, into one event per notification. An error says what is
// wrong with the body (answered 400; nothing is stored): not an array, an
// element that is no object, or one without the eventId or
// subscriptionType that make its id and type. Fields the canonical model
// needs that are missing or of another type are the event's mapping
// errors instead.
func normalize(body []byte) ([]*junctionv1.Event, error) {
	const example = `[{"eventId":1,"subscriptionType":"contact.creation","objectId":123,"occurredAt":1564113600000}]`
	v, err := mapping.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("body is not JSON (%v): send the notifications as a JSON array, e.g. %s", err, example)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("body is %s: send the notifications as a JSON array, e.g. %s", mapping.Kind(v), example)
	}
	if len(list) == 0 {
		return nil, errors.New("body is an empty array: send at least one notification")
	}
	// The raw bytes of each element, kept byte for byte as its data.
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil || len(raws) != len(list) {
		return nil, fmt.Errorf("body could not be split into its notifications: %v", err)
	}
	events := make([]*junctionv1.Event, 0, len(list))
	var bad []string
	for i, el := range list {
		e, err := notification(el, raws[i])
		if err != nil {
			bad = append(bad, fmt.Sprintf("notification [%d]: %v", i, err))
			continue
		}
		events = append(events, e)
	}
	if len(bad) > 0 {
		if n := len(bad); n > maxListed {
			bad = append(bad[:maxListed], fmt.Sprintf("and %d more", n-maxListed))
		}
		return nil, fmt.Errorf("%s (nothing of the batch is stored)", strings.Join(bad, "; "))
	}
	return events, nil
}

// notification maps one element of the batch.
func notification(el any, raw []byte) (*junctionv1.Event, error) {
	obj, ok := el.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("is %s, want an object", mapping.Kind(el))
	}
	id, ok := mapping.IDString(obj["eventId"])
	if !ok {
		if _, there := obj["eventId"]; !there {
			return nil, errors.New(`has no "eventId": it is the event's id`)
		}
		return nil, fmt.Errorf(`"eventId" is %s, want an integer`, mapping.Kind(obj["eventId"]))
	}
	field := "subscriptionType"
	sub, _ := obj[field].(string)
	if sub == "" {
		// The older documentation names it eventType.
		field = "eventType"
		sub, _ = obj[field].(string)
	}
	object, action, ok := strings.Cut(sub, ".")
	if !ok || object == "" || action == "" {
		return nil, fmt.Errorf(`"subscriptionType" %q must be <object>.<event>, e.g. "contact.creation"`, clip.String(sub))
	}
	var r mapping.Reader
	if object == "object" {
		// Generic subscriptions name the object by its type id.
		if name, ok := objectTypes[r.ID(obj, "", "objectTypeId", true)]; ok {
			object = name
		}
	}
	noun := word(object)
	verb, ok := verbs[action]
	if !ok {
		verb = word(action)
	}
	e := &junctionv1.Event{
		Id:              id,
		Source:          Spec.App,
		Type:            noun + "." + verb,
		DataContentType: "application/json",
		Data:            raw,
	}
	if t := r.UnixMillis(obj, "", "occurredAt", true); !t.IsZero() {
		e.Time = timestamppb.New(t)
	}
	idField := "objectId"
	if action == "associationChange" {
		idField = "fromObjectId"
	}
	var objectID string
	var attrs map[string]string
	if _, models := modelObjects[noun]; models {
		objectID = r.ID(obj, "", idField, true)
		attrs = attributes(&r, obj, action)
	} else {
		objectID = r.ID(obj, "", idField, false)
	}
	e.Subject = objectID
	switch noun {
	case "contact":
		c := &modelv1.Contact{Id: objectID, Attributes: attrs}
		c.Email, c.FirstName, c.LastName = attrs["email"], attrs["firstname"], attrs["lastname"]
		c.Phone, c.Company, c.Title = attrs["phone"], attrs["company"], attrs["jobtitle"]
		e.Model = &junctionv1.Event_Contact{Contact: c}
	case "company":
		c := &modelv1.Company{Id: objectID, Attributes: attrs}
		c.Name, c.Domain, c.Industry = attrs["name"], attrs["domain"], attrs["industry"]
		e.Model = &junctionv1.Event_Company{Company: c}
	case "deal":
		d := &modelv1.Deal{Id: objectID, Attributes: attrs}
		d.Name, d.Stage, d.Pipeline = attrs["dealname"], attrs["dealstage"], attrs["pipeline"]
		e.Model = &junctionv1.Event_Deal{Deal: d}
	case "ticket":
		t := &modelv1.Ticket{Id: objectID, Attributes: attrs}
		t.Title, t.Description, t.Status = attrs["subject"], attrs["content"], attrs["hs_pipeline_stage"]
		t.Priority = strings.ToLower(attrs["hs_ticket_priority"])
		e.Model = &junctionv1.Event_Ticket{Ticket: t}
	}
	e.MappingErrors = r.Errors()
	if field == "eventType" {
		// Still mapped, but say that the name HubSpot sends moved.
		e.MappingErrors = append(e.MappingErrors, &junctionv1.MappingError{Field: "subscriptionType", Reason: "missing; read eventType"})
	}
	return e, nil
}

// modelObjects are the HubSpot objects mapped onto a canonical message.
var modelObjects = map[string]bool{"contact": true, "company": true, "deal": true, "ticket": true}

// attributes is what a notification says of its object beyond its id:
// the changed property and its new value for a propertyChange, the other
// side of an associationChange.
func attributes(r *mapping.Reader, obj mapping.Object, action string) map[string]string {
	switch action {
	case "propertyChange":
		name := r.Str(obj, "", "propertyName", true)
		value := r.Str(obj, "", "propertyValue", true)
		if _, ok := obj["propertyValue"].(string); name == "" || !ok {
			return nil
		}
		return map[string]string{name: value}
	case "associationChange":
		out := map[string]string{}
		if s := r.Str(obj, "", "associationType", true); s != "" {
			out["association_type"] = s
		}
		if s := r.ID(obj, "", "toObjectId", true); s != "" {
			out["to_object_id"] = s
		}
		if b, ok := obj["associationRemoved"].(bool); ok {
			out["association_removed"] = fmt.Sprint(b)
		}
		return out
	}
	return nil
}

// word turns a HubSpot name into one type word: camelCase to snake_case,
// lower case, any character other than a-z, 0-9, '_' and '-' an '_'
// ("propertyChange" -> "property_change", "line_item" stays).
func word(s string) string {
	var b strings.Builder
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
