// Skip logic in the page (the server applies the same rules): hide and disable the questions a single-choice
// answer skips, so they are neither shown nor sent.
(function () {
  var form = document.getElementById("survey-form");
  var rulesNode = document.getElementById("skip-rules");
  if (!form || !rulesNode) return;
  var rules = JSON.parse(rulesNode.textContent); // {question id: {option index: question id | "end"}}
  var blocks = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  function update() {
    var jumpTo = null, ended = false;
    blocks.forEach(function (block) {
      var qid = block.getAttribute("data-qid");
      var skipped = ended || (jumpTo !== null && qid !== jumpTo);
      if (!skipped) jumpTo = null;
      block.hidden = skipped;
      block.querySelectorAll("input, textarea").forEach(function (el) { el.disabled = skipped; });
      if (skipped || !rules[qid]) return;
      var picked = block.querySelector("input[type=radio]:checked");
      var target = picked ? rules[qid][picked.value] : undefined;
      if (target === "end") ended = true;
      else if (target !== undefined) jumpTo = String(target);
    });
  }
  form.addEventListener("change", update);
  update();
})();
