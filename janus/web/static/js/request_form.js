// The request form's guidance (janus.web.request_form.guidance_context): when the cluster
// changes, show the namespaces the user may request there, who will approve, whether a ticket
// is required and in what form, and offer only the durations their policies allow. While the
// pull request is being opened (a few seconds), say so and keep the button from a second click.
(function () {
  "use strict";
  var form = document.querySelector("form[data-testid=request-form]");
  if (!form || !form.dataset.guidance) { return; }
  var guidance = JSON.parse(form.dataset.guidance);
  var cluster = form.querySelector("select[name=cluster]");
  var duration = form.querySelector("select[name=duration]");
  var ticket = form.querySelector("input[name=ticket]");
  var nsList = document.querySelector("[data-testid=guidance-namespaces]");
  var approvers = document.querySelector("[data-testid=guidance-approvers]");
  var datalist = document.getElementById("namespace-choices");
  var required = form.querySelector("[data-testid=ticket-required]");
  var hint = form.querySelector("[data-testid=ticket-hint]");

  function update() {
    var g = guidance[cluster.value];
    nsList.textContent = g ? "Namespaces you may request here: " + g.namespaces.join(", ")
                           : "No policy lets you request access on this cluster.";
    approvers.textContent = g ? "Who will be asked to approve: " + g.approvers.join("; ") : "";
    datalist.replaceChildren();
    (g ? g.namespaces : []).forEach(function (ns) {
      if (ns.indexOf("*") < 0 && ns.indexOf("?") < 0) {
        var option = document.createElement("option");
        option.value = ns;
        datalist.append(option);
      }
    });
    var firstAllowed = null, selectedAllowed = false;
    Array.prototype.forEach.call(duration.options, function (option) {
      var tooLong = g && Number(option.dataset.seconds) > g.maxSeconds;
      option.disabled = !!tooLong;
      option.hidden = !!tooLong;
      if (!tooLong && firstAllowed === null) { firstAllowed = option; }
      if (!tooLong && option.selected) { selectedAllowed = true; }
    });
    if (!selectedAllowed && firstAllowed) {
      // The longest allowed duration is the likely intent when the chosen one is too long.
      var allowed = Array.prototype.filter.call(duration.options, function (o) { return !o.disabled; });
      allowed[allowed.length - 1].selected = true;
    }
    var needsTicket = !!(g && g.ticketRequired);
    required.hidden = !needsTicket;
    ticket.required = needsTicket;
    hint.textContent = g && g.ticketHint ? "Expected form: " + g.ticketHint
                                         : "(required by some policies, e.g. INC-1234)";
  }

  cluster.addEventListener("change", update);
  update();

  form.addEventListener("submit", function (event) {
    // The button pressed (Open pull request, or Break glass when the policy offers it).
    var button = event.submitter || form.querySelector("button[type=submit]");
    var progress = form.querySelector("[data-testid=progress]");
    progress.hidden = false;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Opening pull request…";
    // Disabled after the submit has started, so the browser still sends the form.
    setTimeout(function () { button.disabled = true; }, 0);
  });
})();
