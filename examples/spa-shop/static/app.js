// The storefront: a single-page app. Checkout happens in-page, with the gateway's SDK mounting
// its card fields into a <div> (no iframe); the order lives in commerce (api.toko.example).
const TOKO = "https://api.toko.example";
const view = document.getElementById("view");
const product = { sku: "KOPI-250", name: "Kopi Gayo 250 g", price: 89000 };

function browse() {
  view.innerHTML = `
    <article data-testid="product">
      <h2>${product.name}</h2><p>Rp ${product.price.toLocaleString("id-ID")}</p>
      <button data-testid="buy">Beli sekarang</button>
    </article>`;
  view.querySelector("[data-testid=buy]").addEventListener("click", () => {
    history.pushState({}, "", "#/checkout");
    checkout();
  });
  window.px && px("view", { sku: product.sku });
}

async function postJSON(url, body) {
  const r = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.status);
  return data;
}

function loadSdk() {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "https://js.bayar.example/v1/bayar.js";
    s.onload = () => resolve(window.Bayar);
    s.onerror = reject;
    document.head.appendChild(s);
  });
}

async function checkout() {
  view.innerHTML = `
    <form data-testid="checkout" onsubmit="return false">
      <input name="name" placeholder="Nama"> <input name="email" placeholder="Email">
      <input name="phone" placeholder="Telepon"> <input name="address" placeholder="Alamat">
      <div id="bayar-card"></div>
    </form>
    <p data-testid="error" hidden></p>`;
  window.px && px("checkout", { sku: product.sku });
  const [order, Bayar] = await Promise.all([postJSON(`${TOKO}/v1/orders`, { sku: product.sku }), loadSdk()]);
  const card = Bayar.mount(document.getElementById("bayar-card"));
  const pay = document.createElement("button");
  pay.dataset.testid = "pay";
  pay.textContent = `Bayar Rp ${order.amount.toLocaleString("id-ID")}`;
  view.querySelector("form").appendChild(pay);
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    try {
      const payment = await card.confirm({ client_secret: order.client_secret, amount: order.amount });
      const form = new FormData(view.querySelector("form"));
      const done = await postJSON(`${TOKO}/v1/orders/${order.order_id}/confirm`, {
        payment_id: payment.payment_id,
        buyer: Object.fromEntries(["name", "email", "phone", "address"].map((k) => [k, form.get(k)])),
      });
      const status = await (await fetch(`${TOKO}/v1/orders/${order.order_id}/status`)).json();
      confirmation(done, status.status);
    } catch (e) {
      const err = view.querySelector("[data-testid=error]");
      err.textContent = `Pembayaran gagal: ${e.message}`;
      err.hidden = false;
      pay.disabled = false;
    }
  });
}

function confirmation(done, status) {
  window.px && px("purchase", { sku: product.sku });
  view.innerHTML = `
    <section data-testid="confirmation">
      <h2>Terima kasih!</h2>
      <p>Pesanan <b data-testid="order-number">${done.order_number}</b>
         (<span data-testid="order-status">${status}</span>)</p>
      <a data-testid="invoice-link" href="${done.invoice_url}">Faktur</a>
    </section>`;
}

if (location.hash === "#/checkout") checkout(); else browse();
