package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"text/template"
	"time"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// message is one rendered email: its envelope and its bytes.
type message struct {
	from       string   // envelope sender
	recipients []string // envelope recipients: to, cc and bcc
	data       []byte   // the RFC 5322 message
}

// parsed is a template of either kind.
type parsed struct {
	text *template.Template
	html *htmltemplate.Template
}

// template returns the parsed template of a target key, cached by its
// source. HTML bodies are html/template, so values are escaped.
func (a *Adapter) template(key, src string) (*parsed, error) {
	id := key + "\x00" + src
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.templates[id]; ok {
		return p, nil
	}
	p := &parsed{}
	var err error
	if key == "html" {
		p.html, err = htmltemplate.New(key).Option("missingkey=error").Parse(src)
	} else {
		p.text, err = template.New(key).Option("missingkey=error").Parse(src)
	}
	if err != nil {
		return nil, fmt.Errorf("target config %s: %w", key, err)
	}
	if len(a.templates) > 1000 { // routes come and go: keep the cache bounded
		clear(a.templates)
	}
	a.templates[id] = p
	return p, nil
}

// render renders the target key's template over data; "" when the key is
// unset.
func (a *Adapter) render(d *junctionv1.Delivery, key string, data any) (string, error) {
	src := d.GetConfig()[key]
	if src == "" {
		return "", nil
	}
	p, err := a.template(key, src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if p.html != nil {
		err = p.html.Execute(&b, data)
	} else {
		err = p.text.Execute(&b, data)
	}
	if err != nil {
		return "", fmt.Errorf("target config %s: %w", key, err)
	}
	return b.String(), nil
}

// templateData is what templates see: .payload (the delivery's JSON
// payload, decoded), .event and .delivery.
func templateData(d *junctionv1.Delivery) (map[string]any, error) {
	var payload any
	if len(d.GetPayload()) > 0 {
		dec := json.NewDecoder(bytes.NewReader(d.GetPayload()))
		dec.UseNumber()
		if err := dec.Decode(&payload); err != nil {
			if strings.Contains(d.GetContentType(), "json") {
				return nil, fmt.Errorf("payload is not JSON: %w", err)
			}
			payload = string(d.GetPayload())
		}
	}
	event := map[string]any{"id": d.GetEventId(), "source": d.GetEventSource(), "type": d.GetEventType()}
	if t := d.GetEventTime(); t != nil {
		event["time"] = t.AsTime()
	}
	return map[string]any{
		"payload":  payload,
		"event":    event,
		"delivery": map[string]any{"id": d.GetId(), "route": d.GetRouteId(), "target": d.GetTarget()},
	}, nil
}

// build renders d into a message. Every error is one retrying cannot fix.
func (a *Adapter) build(d *junctionv1.Delivery) (*message, error) {
	data, err := templateData(d)
	if err != nil {
		return nil, err
	}
	r := map[string]string{}
	for _, k := range []string{"to", "cc", "bcc", "reply_to", "from", "subject", "text", "html"} {
		if r[k], err = a.render(d, k, data); err != nil {
			return nil, err
		}
	}
	if r["text"] == "" && r["html"] == "" {
		return nil, errors.New("target config: set text, html or both: the message has no body")
	}
	fromSrc := r["from"]
	if fromSrc == "" {
		fromSrc = a.cfg.From
	}
	if fromSrc == "" {
		return nil, errors.New("target config from: required when the adapter has no from")
	}
	from, err := mail.ParseAddress(fromSrc)
	if err != nil {
		return nil, fmt.Errorf("target config from: not an address: %w", err)
	}
	m := &message{from: from.Address}
	h := &header{}
	h.add("From", from.String())
	for _, k := range []string{"to", "cc", "bcc", "reply_to"} {
		if strings.TrimSpace(r[k]) == "" {
			continue
		}
		list, err := mail.ParseAddressList(r[k])
		if err != nil {
			return nil, fmt.Errorf("target config %s: rendered to %q, not an address list: %w", k, clip(r[k]), err)
		}
		var shown []string
		for _, addr := range list {
			if k != "reply_to" {
				if err := a.allowed(addr.Address); err != nil {
					return nil, fmt.Errorf("target config %s: %w", k, err)
				}
				m.recipients = append(m.recipients, addr.Address)
			}
			shown = append(shown, addr.String())
		}
		switch k {
		case "to":
			h.add("To", strings.Join(shown, ", "))
		case "cc":
			h.add("Cc", strings.Join(shown, ", "))
		case "reply_to":
			h.add("Reply-To", strings.Join(shown, ", "))
		}
	}
	if len(m.recipients) == 0 {
		return nil, errors.New("target config to: rendered to no address")
	}
	subject := strings.TrimSpace(r["subject"])
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errors.New("target config subject: rendered to more than one line")
	}
	h.add("Subject", mime.QEncoding.Encode("utf-8", subject))
	date := time.Now()
	if t := d.GetCreateTime(); t != nil {
		date = t.AsTime() // the same on every attempt
	}
	h.add("Date", date.UTC().Format(time.RFC1123Z))
	h.add("Message-ID", a.messageID(d.GetId()))
	h.add("X-Junction-Delivery-Id", d.GetId())
	if d.GetEventId() != "" {
		h.add("X-Junction-Event-Id", headerSafe(d.GetEventId()))
	}
	h.add("MIME-Version", "1.0")

	var body bytes.Buffer
	switch {
	case r["text"] != "" && r["html"] != "":
		boundary := boundaryOf(d.GetId())
		h.add("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		for _, part := range []struct{ kind, body string }{{"plain", r["text"]}, {"html", r["html"]}} {
			body.WriteString("--" + boundary + "\r\n")
			body.WriteString("Content-Type: text/" + part.kind + "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			writeQP(&body, part.body)
			body.WriteString("\r\n")
		}
		body.WriteString("--" + boundary + "--\r\n")
	case r["html"] != "":
		h.add("Content-Type", "text/html; charset=utf-8")
		h.add("Content-Transfer-Encoding", "quoted-printable")
		writeQP(&body, r["html"])
	default:
		h.add("Content-Type", "text/plain; charset=utf-8")
		h.add("Content-Transfer-Encoding", "quoted-printable")
		writeQP(&body, r["text"])
	}
	m.data = append(h.b.Bytes(), append([]byte("\r\n"), body.Bytes()...)...)
	return m, nil
}

// allowed checks a recipient against Config.AllowedDomains.
func (a *Adapter) allowed(addr string) error {
	if len(a.cfg.AllowedDomains) == 0 {
		return nil
	}
	domain := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	for _, d := range a.cfg.AllowedDomains {
		if strings.EqualFold(d, domain) {
			return nil
		}
	}
	return fmt.Errorf("recipient %s is outside the adapter's allowed_domains", addr)
}

// messageID is the Message-ID of delivery id: the same on every attempt.
func (a *Adapter) messageID(id string) string {
	return "<" + atext(id) + "@" + a.domain + ">"
}

// atext keeps the characters a Message-ID's left side may hold.
func atext(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
			return r
		}
		return '-'
	}, s)
}

// headerSafe drops line breaks from a header value.
func headerSafe(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// boundaryOf is a MIME boundary derived from the delivery id, so a retried
// delivery's message is the same bytes.
func boundaryOf(id string) string {
	sum := sha256.Sum256([]byte("junction-boundary:" + id))
	return "junction-" + hex.EncodeToString(sum[:12])
}

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")))
	_ = w.Close()
}

// header writes header fields in order.
type header struct{ b bytes.Buffer }

func (h *header) add(name, value string) {
	h.b.WriteString(name + ": " + value + "\r\n")
}

// clip shortens a rendered value quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
