"use strict";
// Niaga's checkout SDK: draws the checkout in the page, the card fields in Kilat's iframe.
// Every API call is retried silently (same idempotency key) when it fails with 5xx or drops.
(function () {
  const API = "https://api.niaga.example";
  const CARD = "https://card.kilat.example";
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function call(method, path, body, key) {
    let last = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const r = await fetch(API + path, {
          method: method,
          headers: {"content-type": "application/json", "idempotency-key": key},
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (r.status < 500) return {status: r.status, data: await r.json()};
        last = new Error("HTTP " + r.status);
      } catch (e) {
        last = e;
      }
      await sleep(250 * (attempt + 1));
    }
    throw last;
  }

  function field(name, label) {
    return `<label>${label}<input name="${name}" data-testid="niaga-${name}" required></label>`;
  }

  async function checkout(opts) {
    const root = opts.mount;
    root.innerHTML = '<div data-testid="niaga-checkout">Memuat checkout…</div>';
    const key = "ck-" + Math.random().toString(36).slice(2);
    const created = await call("POST", "/v2/checkouts", {sku: opts.sku, buyer: opts.buyer}, key);
    const co = created.data;
    root.innerHTML = '<div data-testid="niaga-checkout"><h2>Checkout</h2>' +
      `<p>Total Rp ${co.amount.toLocaleString("id-ID")}</p>` +
      field("given_name", "Nama depan") + field("family_name", "Nama belakang") +
      field("email", "Email") + field("phone", "Telepon") + field("line1", "Alamat") +
      field("city", "Kota") + field("postcode", "Kode pos") +
      `<iframe data-testid="kilat-card" title="Kartu" style="width:100%;height:9rem;border:0" ` +
      `src="${CARD}/v1/card?cs=${encodeURIComponent(co.client_secret)}"></iframe>` +
      '<p data-testid="niaga-error" hidden></p>' +
      '<button data-testid="niaga-pay">Bayar</button></div>';
    const pay = root.querySelector("[data-testid=niaga-pay]");
    const error = root.querySelector("[data-testid=niaga-error]");
    const frame = root.querySelector("[data-testid=kilat-card]");
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      error.hidden = true;
      const buyer = {};
      root.querySelectorAll("input").forEach((i) => { buyer[i.name] = i.value; });
      try {
        await call("POST", `/v2/checkouts/${co.id}/buyer`, buyer, key + "-buyer");
        frame.contentWindow.postMessage({type: "kilat-charge"}, CARD);
      } catch (e) {
        error.textContent = "Pembayaran gagal, coba lagi";
        error.hidden = false;
        pay.disabled = false;
      }
    });
    window.addEventListener("message", async (ev) => {
      if (ev.origin !== CARD || !ev.data) return;
      if (ev.data.type === "kilat-failed") {
        error.textContent = "Kartu ditolak: " + ev.data.reason;
        error.hidden = false;
        pay.disabled = false;
        return;
      }
      if (ev.data.type !== "kilat-paid") return;
      try {
        const done = await call("POST", `/v2/checkouts/${co.id}/confirm`,
                                {charge: ev.data.charge}, key + "-confirm");
        root.innerHTML = '<div data-testid="niaga-confirmation"><h2>Terima kasih!</h2>' +
          `<p>Pesanan <b data-testid="niaga-order-number">${done.data.order_id}</b></p></div>`;
      } catch (e) {
        error.textContent = "Pembayaran gagal, coba lagi";
        error.hidden = false;
        pay.disabled = false;
      }
    });
  }

  window.Niaga = {checkout: checkout};
})();
