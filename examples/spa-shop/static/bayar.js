// Bayar payment SDK: mounts card fields into the merchant's page (no iframe) and confirms
// payments with api.bayar.example, the gateway.
(function () {
  const API = "https://api.bayar.example";
  window.Bayar = {
    mount(el) {
      el.innerHTML = `
        <fieldset data-testid="bayar-card">
          <input name="card_number" autocomplete="cc-number" placeholder="Nomor kartu">
          <input name="card_expiry" placeholder="BB/TT"> <input name="card_cvc" placeholder="CVC">
        </fieldset>`;
      const val = (n) => el.querySelector(`input[name=${n}]`).value;
      return {
        async confirm({ client_secret, amount }) {
          const r = await fetch(`${API}/v1/payments`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              client_secret, amount,
              card_number: val("card_number"), card_expiry: val("card_expiry"), card_cvc: val("card_cvc"),
            }),
          });
          const data = await r.json();
          if (!r.ok || data.status !== "succeeded") throw new Error(data.error || "declined");
          return data;
        },
      };
    },
  };
})();
