// Command receiver is the README walkthrough's webhook receiver: it listens
// on an address, verifies each request's Standard Webhooks signature with
// the Standard Webhooks library, and prints what arrived. A repeated
// webhook-id (a retry of a delivery already received) is printed as such.
// Each -fail PATH makes that path answer 500, standing in for a
// destination that is down.
//
//	go run ./examples/receiver -addr 127.0.0.1:9999 -secret whsec_...
//	go run ./examples/receiver -secret whsec_... -fail /accounting
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "listen address")
	secret := flag.String("secret", os.Getenv("RECEIVER_SECRET"), "the hub's outbound whsec_ signing secret (env RECEIVER_SECRET)")
	failing := map[string]bool{}
	flag.Func("fail", "answer 500 to deliveries to this path, e.g. /accounting (repeatable)", func(p string) error {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%q: give a path starting with /", p)
		}
		failing[p] = true
		return nil
	})
	flag.Parse()
	wh, err := standardwebhooks.NewWebhook(*secret)
	if err != nil {
		log.Fatalf("secret: %v (pass the hub's outbound whsec_ secret with -secret)", err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			fmt.Printf("REJECTED %s: %v\n", r.URL.Path, err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("webhook-id")
		if failing[r.URL.Path] {
			fmt.Printf("FAILING delivery %s to %s: answered 500 (-fail %s)\n", id, r.URL.Path, r.URL.Path)
			http.Error(w, "down (-fail)", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		dup := seen[id]
		seen[id] = true
		mu.Unlock()
		var pretty any
		out := string(body)
		if json.Unmarshal(body, &pretty) == nil {
			b, _ := json.MarshalIndent(pretty, "  ", "  ")
			out = string(b)
		}
		note := ""
		if dup {
			note = " (retry of a delivery already received)"
		}
		fmt.Printf("verified delivery %s to %s%s\n  %s\n", id, r.URL.Path, note, out)
		w.WriteHeader(http.StatusNoContent)
	})
	fmt.Printf("receiver listening on http://%s/\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
