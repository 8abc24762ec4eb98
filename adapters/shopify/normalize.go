package shopify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/internal/appmap"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Meta is what Shopify sends in headers beside the body.
type Meta struct {
	Topic       string // X-Shopify-Topic, e.g. "orders/create"
	EventID     string // X-Shopify-Event-Id, shared by the deliveries of one merchant action
	WebhookID   string // X-Shopify-Webhook-Id, one per delivery
	APIVersion  string // X-Shopify-API-Version, e.g. "2026-04"
	ShopDomain  string // X-Shopify-Shop-Domain, e.g. "shop.myshopify.com"
	TriggeredAt string // X-Shopify-Triggered-At, RFC 3339
}

// MetaFrom reads Meta from a request's headers.
func MetaFrom(h http.Header) Meta {
	return Meta{
		Topic:       h.Get(HeaderTopic),
		EventID:     h.Get(HeaderEventID),
		WebhookID:   h.Get(HeaderWebhookID),
		APIVersion:  h.Get(HeaderAPIVersion),
		ShopDomain:  h.Get(HeaderShopDomain),
		TriggeredAt: h.Get(HeaderTriggeredAt),
	}
}

// ID returns the id a webhook is stored under. With
// X-Shopify-Event-Id it is "<event id>:<topic>", the topic dotted: one
// merchant action (paying an order) sends several topics (orders/updated,
// orders/paid) with the same event id, and each is its own hub event,
// while the same topic again (a retry, or a second subscription) is the
// same event. Without it, the X-Shopify-Webhook-Id.
func (m Meta) ID() string {
	if m.EventID != "" {
		return m.EventID + ":" + strings.ReplaceAll(m.Topic, "/", ".")
	}
	return m.WebhookID
}

// topic maps a Shopify topic onto the canonical model.
type topic struct {
	typ   string
	model func(e *junctionv1.Event, o appmap.Object)
}

// topics are the Shopify topics with a canonical model. Every other topic
// is stored under its own name, "/" replaced by "." (products/update is
// products.update), with no model.
var topics = map[string]topic{
	"orders/create":              {"order.created", order},
	"orders/updated":             {"order.updated", order},
	"orders/paid":                {"order.paid", order},
	"orders/cancelled":           {"order.cancelled", order},
	"orders/fulfilled":           {"order.fulfilled", order},
	"orders/partially_fulfilled": {"order.partially_fulfilled", order},
	"orders/delete":              {"order.deleted", deletedOrder},
	"customers/create":           {"contact.created", customer},
	"customers/update":           {"contact.updated", customer},
	"customers/enable":           {"contact.enabled", customer},
	"customers/disable":          {"contact.disabled", customer},
	"customers/delete":           {"contact.deleted", deletedCustomer},
}

// Topics returns the Shopify topics the adapter maps onto the model, each
// with its hub type.
func Topics() map[string]string {
	out := make(map[string]string, len(topics))
	for k, t := range topics {
		out[k] = t.typ
	}
	return out
}

// Normalize maps one Shopify webhook onto a hub event: the id from the
// event and webhook id headers (see [Meta.ID]), the type from the
// topic, the time X-Shopify-Triggered-At (else the payload's updated_at
// or created_at), the subject the payload's id, the provider version
// X-Shopify-API-Version, extension shopdomain, data the body as it is,
// and the canonical model with a MappingError for every field the mapping
// needs that is missing or of another type. It fails when the headers
// lack the topic or an id, or the body is not a JSON object.
func Normalize(m Meta, body []byte) (*junctionv1.Event, error) {
	if m.Topic == "" {
		return nil, errors.New("header " + HeaderTopic + " is missing: Shopify sends the webhook's topic, e.g. orders/create")
	}
	id := m.ID()
	if id == "" {
		return nil, errors.New("headers " + HeaderEventID + " and " + HeaderWebhookID + " are missing: Shopify sends at least " + HeaderWebhookID + ", the id retries are recognised by")
	}
	obj, err := appmap.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("%w: send the webhook as Shopify posts it", err)
	}
	mp := &appmap.Mapper{}
	root := mp.Root(obj, "")
	e := &junctionv1.Event{
		Id:              id,
		Source:          Spec.App,
		Type:            strings.ReplaceAll(strings.ToLower(m.Topic), "/", "."),
		DataContentType: "application/json",
		Data:            body,
		ProviderVersion: m.APIVersion,
	}
	ext := map[string]string{}
	for k, v := range map[string]string{"shopdomain": m.ShopDomain, "shopifyeventid": m.EventID, "shopifywebhookid": m.WebhookID} {
		if v != "" {
			ext[k] = v
		}
	}
	if len(ext) > 0 {
		e.Extensions = ext
	}
	if t, err := time.Parse(time.RFC3339Nano, m.TriggeredAt); err == nil {
		e.Time = timestamppb.New(t)
	}
	t, mapped := topics[m.Topic]
	if mapped {
		e.Type = t.typ
		t.model(e, root)
	} else {
		// The id is read leniently for the subject only: an unmapped
		// topic has no mapping to fail.
		e.Subject = (&appmap.Mapper{}).Root(obj, "").ID("id", appmap.Optional)
	}
	if e.Time == nil {
		quiet := (&appmap.Mapper{}).Root(obj, "")
		if e.Time = quiet.Time("updated_at", appmap.Optional); e.Time == nil {
			e.Time = quiet.Time("created_at", appmap.Optional)
		}
	}
	e.MappingErrors = mp.Errors()
	if len(e.Subject) > 0 {
		e.Subject = clip.String(e.Subject)
	}
	return e, nil
}

// address maps a Shopify address.
func address(o appmap.Object) *modelv1.Address {
	if !o.Present() {
		return nil
	}
	a := &modelv1.Address{
		Name:        o.String("name", appmap.Optional),
		City:        o.String("city", appmap.Optional),
		Region:      o.String("province", appmap.Optional),
		PostalCode:  o.String("zip", appmap.Optional),
		CountryCode: o.String("country_code", appmap.Optional),
		Phone:       o.String("phone", appmap.Optional),
	}
	if a.Name == "" {
		a.Name = strings.TrimSpace(o.String("first_name", appmap.Optional) + " " + o.String("last_name", appmap.Optional))
	}
	for _, k := range []string{"address1", "address2"} {
		if l := o.String(k, appmap.Optional); l != "" {
			a.Lines = append(a.Lines, l)
		}
	}
	return a
}

// contact maps a Shopify customer object; need is what its id is.
func contact(o appmap.Object, need appmap.Need) *modelv1.Contact {
	if !o.Present() {
		return nil
	}
	c := &modelv1.Contact{
		Id:         o.ID("id", need),
		Email:      o.String("email", appmap.Optional),
		FirstName:  o.String("first_name", appmap.Optional),
		LastName:   o.String("last_name", appmap.Optional),
		Phone:      o.String("phone", appmap.Optional),
		Company:    o.Object("default_address", appmap.Optional).String("company", appmap.Optional),
		CreateTime: o.Time("created_at", appmap.Optional),
		Attributes: map[string]string{},
	}
	for _, k := range []string{"state", "tags", "note", "currency"} {
		if v := o.String(k, appmap.Optional); v != "" {
			c.Attributes[k] = v
		}
	}
	if v := o.Object("email_marketing_consent", appmap.Optional).String("state", appmap.Optional); v != "" {
		c.Attributes["email_marketing_consent"] = v
	}
	return c
}

// order maps an order payload: the totals are in the shop's currency
// ("currency"), each a decimal string.
func order(e *junctionv1.Event, o appmap.Object) {
	currency := o.String("currency", appmap.Required)
	dec := func(obj appmap.Object, key string, need appmap.Need) *modelv1.Money {
		if currency == "" {
			return nil
		}
		return obj.Decimal(key, currency, need)
	}
	ord := &modelv1.Order{
		Id:                o.ID("id", appmap.Required),
		Number:            o.String("name", appmap.Required),
		Email:             o.String("email", appmap.Optional),
		Customer:          contact(o.Object("customer", appmap.Optional), appmap.Optional),
		Subtotal:          dec(o, "subtotal_price", appmap.Required),
		Tax:               dec(o, "total_tax", appmap.Optional),
		Shipping:          dec(o.Object("total_shipping_price_set", appmap.Optional).Object("shop_money", appmap.Optional), "amount", appmap.Optional),
		Discounts:         dec(o, "total_discounts", appmap.Optional),
		Total:             dec(o, "total_price", appmap.Required),
		FinancialStatus:   o.String("financial_status", appmap.Optional),
		FulfillmentStatus: o.String("fulfillment_status", appmap.Optional),
		ShippingAddress:   address(o.Object("shipping_address", appmap.Optional)),
		BillingAddress:    address(o.Object("billing_address", appmap.Optional)),
		CreateTime:        o.Time("created_at", appmap.Optional),
		CancelTime:        o.Time("cancelled_at", appmap.Optional),
		Attributes:        map[string]string{},
	}
	if ord.Email == "" {
		ord.Email = o.String("contact_email", appmap.Optional)
	}
	for _, li := range o.Objects("line_items", appmap.Required) {
		qty, _ := li.Int("quantity", appmap.Required)
		ord.LineItems = append(ord.LineItems, &modelv1.LineItem{
			Id:        li.ID("id", appmap.Required),
			Sku:       li.String("sku", appmap.Optional),
			Title:     li.String("title", appmap.Optional),
			Quantity:  qty,
			UnitPrice: dec(li, "price", appmap.Required),
			ProductId: li.ID("product_id", appmap.Optional),
			VariantId: li.ID("variant_id", appmap.Optional),
		})
	}
	if n := o.ID("order_number", appmap.Optional); n != "" {
		ord.Attributes["order_number"] = n
	}
	for _, k := range []string{"tags", "cancel_reason", "presentment_currency", "source_name"} {
		if v := o.String(k, appmap.Optional); v != "" {
			ord.Attributes[k] = v
		}
	}
	e.Subject = ord.GetId()
	e.Model = &junctionv1.Event_Order{Order: ord}
}

// deletedOrder maps orders/delete, whose payload is the order's id alone.
func deletedOrder(e *junctionv1.Event, o appmap.Object) {
	ord := &modelv1.Order{Id: o.ID("id", appmap.Required)}
	e.Subject = ord.GetId()
	e.Model = &junctionv1.Event_Order{Order: ord}
}

// customer maps a customer payload onto a Contact.
func customer(e *junctionv1.Event, o appmap.Object) {
	c := contact(o, appmap.Required)
	e.Subject = c.GetId()
	e.Model = &junctionv1.Event_Contact{Contact: c}
}

// deletedCustomer maps customers/delete, whose payload is the customer's
// id (and little else).
func deletedCustomer(e *junctionv1.Event, o appmap.Object) {
	c := &modelv1.Contact{Id: o.ID("id", appmap.Required)}
	e.Subject = c.GetId()
	e.Model = &junctionv1.Event_Contact{Contact: c}
}
