/* The segment rule builder (templates/segments/builder.html).
 *
 * The rule tree lives as JSON in the form's hidden input `definition`. This script draws an editor for it,
 * writes every change back to that input, asks the preview API for the count about 400 ms after the last
 * change, and shows the API's errors (422: detail[].field is the path of the bad node, such as
 * "root.children.0.value") next to the node they name. Dates are stored ISO Gregorian; in Persian they are
 * shown and typed in the Jalali calendar. No dependencies: Bootstrap's dropdown is used when present.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------------------
  // Jalali (solar hijri) <-> Gregorian, by the arithmetic of the 33-year cycles (valid for Jalali years
  // -61 to 3177). Dates pass through a day number (Julian day), as in the reference algorithm.
  // ---------------------------------------------------------------------------------------------------------
  const BREAKS = [
    -61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178,
  ];
  const div = (a, b) => Math.trunc(a / b);
  const mod = (a, b) => a - Math.trunc(a / b) * b;

  function jalCal(jy) {
    const gy = jy + 621;
    let leapJ = -14;
    let jp = BREAKS[0];
    let jump = 0;
    if (jy < jp || jy >= BREAKS[BREAKS.length - 1]) throw new RangeError("Jalali year out of range: " + jy);
    for (let i = 1; i < BREAKS.length; i += 1) {
      const jm = BREAKS[i];
      jump = jm - jp;
      if (jy < jm) break;
      leapJ += div(jump, 33) * 8 + div(mod(jump, 33), 4);
      jp = jm;
    }
    let n = jy - jp;
    leapJ += div(n, 33) * 8 + div(mod(n, 33) + 3, 4);
    if (mod(jump, 33) === 4 && jump - n === 4) leapJ += 1;
    const leapG = div(gy, 4) - div((div(gy, 100) + 1) * 3, 4) - 150;
    const march = 20 + leapJ - leapG; // the day of March on which the Jalali year starts
    if (jump - n < 6) n = n - jump + div(jump + 4, 33) * 33;
    let leap = mod(mod(n + 1, 33) - 1, 4);
    if (leap === -1) leap = 4;
    return { leap: leap, gy: gy, march: march };
  }

  function g2d(gy, gm, gd) {
    const d = div((gy + div(gm - 8, 6) + 100100) * 1461, 4) + div(153 * mod(gm + 9, 12) + 2, 5) + gd - 34840408;
    return d - div(div(gy + 100100 + div(gm - 8, 6), 100) * 3, 4) + 752;
  }

  function d2g(jdn) {
    let j = 4 * jdn + 139361631;
    j = j + div(div(4 * jdn + 183187720, 146097) * 3, 4) * 4 - 3908;
    const i = div(mod(j, 1461), 4) * 5 + 308;
    const gd = div(mod(i, 153), 5) + 1;
    const gm = mod(div(i, 153), 12) + 1;
    const gy = div(j, 1461) - 100100 + div(8 - gm, 6);
    return [gy, gm, gd];
  }

  function j2d(jy, jm, jd) {
    const r = jalCal(jy);
    return g2d(r.gy, 3, r.march) + (jm - 1) * 31 - div(jm, 7) * (jm - 7) + jd - 1;
  }

  function d2j(jdn) {
    const gy = d2g(jdn)[0];
    let jy = gy - 621;
    const r = jalCal(jy);
    let k = jdn - g2d(gy, 3, r.march);
    if (k >= 0) {
      if (k <= 185) return [jy, 1 + div(k, 31), mod(k, 31) + 1];
      k -= 186;
    } else {
      jy -= 1;
      k += 179;
      if (r.leap === 1) k += 1;
    }
    return [jy, 7 + div(k, 30), mod(k, 30) + 1];
  }

  const Jalali = {
    /** [gy, gm, gd] of a Jalali date. */
    toGregorian: function (jy, jm, jd) {
      return d2g(j2d(jy, jm, jd));
    },
    /** [jy, jm, jd] of a Gregorian date. */
    toJalali: function (gy, gm, gd) {
      return d2j(g2d(gy, gm, gd));
    },
    isLeap: function (jy) {
      return jalCal(jy).leap === 0;
    },
    monthLength: function (jy, jm) {
      if (jm <= 6) return 31;
      if (jm <= 11) return 30;
      return Jalali.isLeap(jy) ? 30 : 29;
    },
    isValid: function (jy, jm, jd) {
      return (
        Number.isInteger(jy) && jy >= -61 && jy < 3178 && jm >= 1 && jm <= 12 && jd >= 1 && jd <= Jalali.monthLength(jy, jm)
      );
    },
    /** Day of the week of a Jalali date, 0 = Saturday (the first day of the Persian week). */
    weekday: function (jy, jm, jd) {
      return mod(j2d(jy, jm, jd) + 2, 7);
    },
  };

  // ---------------------------------------------------------------------------------------------------------
  // Digits, numbers and dates as the user writes and reads them.
  // ---------------------------------------------------------------------------------------------------------
  const FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  const AR_DIGITS = "٠١٢٣٤٥٦٧٨٩";
  const JALALI_BEFORE = 1700; // years below are read as Jalali, as the server does (navid/core/dates.py)
  // Names of the Jalali calendar, shown only in the Persian interface.
  const JALALI_MONTHS = [
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
  ];
  const JALALI_WEEKDAYS = ["ش", "ی", "د", "س", "چ", "پ", "ج"];

  function asciiDigits(text) {
    return String(text).replace(/[۰-۹٠-٩]/g, function (d) {
      const i = FA_DIGITS.indexOf(d);
      return String(i >= 0 ? i : AR_DIGITS.indexOf(d));
    });
  }

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  function isoOf(y, m, d) {
    return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
  }

  function gregorianValid(y, m, d) {
    const date = new Date(Date.UTC(y, m - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  }

  function makeLocale(lang) {
    const persian = lang.slice(0, 2) === "fa";
    const digits = function (text) {
      return persian ? String(text).replace(/[0-9]/g, (d) => FA_DIGITS[Number(d)]) : String(text);
    };
    const whole = new Intl.NumberFormat(lang, { useGrouping: true, maximumFractionDigits: 0 });
    const parts = new Intl.NumberFormat(lang).formatToParts(1.5);
    const decimal = (parts.find((p) => p.type === "decimal") || { value: "." }).value;

    return {
      persian: persian,
      digits: digits,
      /** A canonical number ("-1234.5") from what the user typed, or null. */
      parseNumber: function (text) {
        let t = asciiDigits(text).trim().replace(/^[\u2212\u2012\u2013]/, "-");
        t = t.replace(/[\s\u00a0\u202f\u066c'’]/g, "").replace(/\u066b/g, ".").replace(/[\u200e\u200f]/g, "");
        t = decimal === "," ? t.replace(/,/g, ".") : t.replace(/,/g, "");
        if (!/^-?\d+(\.\d+)?$/.test(t)) return null;
        const negative = t[0] === "-";
        let [int, frac] = t.replace("-", "").split(".");
        int = int.replace(/^0+(?=\d)/, "");
        frac = (frac || "").replace(/0+$/, "");
        const body = frac ? int + "." + frac : int;
        return negative && body !== "0" ? "-" + body : body;
      },
      /** A canonical number with the user's grouping and digits: 100000 -> 100,000 (۱۰۰٬۰۰۰ in Persian). */
      formatNumber: function (value) {
        if (value === null || value === undefined || value === "") return "";
        const text = String(value);
        if (!/^-?\d+(\.\d+)?$/.test(text)) return digits(text);
        const negative = text[0] === "-";
        const [int, frac] = text.replace("-", "").split(".");
        let shown = whole.format(BigInt(int));
        if (frac) shown += decimal + digits(frac);
        return (negative ? "-" : "") + shown;
      },
      /** ISO Gregorian from what the user typed (Gregorian, or Jalali for years before 1700), or null. */
      parseDate: function (text) {
        const m = /^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$/.exec(asciiDigits(text));
        if (!m) return null;
        const y = Number(m[1]);
        const mo = Number(m[2]);
        const d = Number(m[3]);
        if (y < JALALI_BEFORE) {
          if (!Jalali.isValid(y, mo, d)) return null;
          const g = Jalali.toGregorian(y, mo, d);
          return isoOf(g[0], g[1], g[2]);
        }
        return gregorianValid(y, mo, d) ? isoOf(y, mo, d) : null;
      },
      /** An ISO date as this interface shows it: Jalali with Persian digits in Persian, ISO otherwise. */
      formatDate: function (iso) {
        const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
        if (!m) return "";
        if (!persian) return iso;
        const j = Jalali.toJalali(Number(m[1]), Number(m[2]), Number(m[3]));
        return digits(pad(j[0], 4) + "/" + pad(j[1], 2) + "/" + pad(j[2], 2));
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Small DOM helpers.
  // ---------------------------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([key, value]) {
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function idFor(path, name) {
    return "rule-" + path.replace(/[^a-zA-Z0-9]+/g, "-") + (name ? "-" + name : "");
  }

  function calendarIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("fill", "currentColor");
    const path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M4 0h1v2h6V0h1v2h2a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1h2zM2 6v9h12V6zm2 2h2v2H4zm3 0h2v2H7zm3 0h2v2h-2zm-6 3h2v2H4zm3 0h2v2H7z"
    );
    svg.append(path);
    return svg;
  }

  function clone(value) {
    return JSON.parse(JSON.stringify(value));
  }

  const SINGLE_OPERATORS = ["eq", "ne", "lt", "lte", "gt", "gte"];

  // ---------------------------------------------------------------------------------------------------------
  // The builder.
  // ---------------------------------------------------------------------------------------------------------
  function Builder(container, options, input, serverErrors) {
    this.container = container;
    this.o = options;
    this.L = options.labels;
    this.input = input;
    this.loc = makeLocale(options.language);
    this.fields = {};
    options.fields.forEach((f) => (this.fields[f.name] = f));
    this.values = {};
    options.values.forEach((f) => (this.values[f.name] = f));
    this.errors = {};
    this.hints = {};
    this.sequence = 0;
    this.timer = null;
    this.tree = this.read();
    // Enter in a box of the rules finishes the value instead of saving the whole form.
    container.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target instanceof HTMLInputElement && event.target.type !== "checkbox") {
        event.preventDefault();
        event.target.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    this.render();
    this.showErrors(serverErrors || {});
    this.preview({ keepErrors: true });
  }

  Builder.prototype.read = function () {
    let tree = null;
    try {
      tree = JSON.parse(this.input.value || "null");
    } catch (e) {
      tree = null;
    }
    if (!tree || typeof tree !== "object" || !tree.root || tree.root.type !== "group") {
      if (this.input.value && this.input.value !== "null" && this.input.value !== "{}") {
        this.unreadable = true;
      }
      tree = { version: 1, root: { type: "group", op: "and", children: [] } };
    }
    if (!Array.isArray(tree.root.children)) tree.root.children = [];
    return tree;
  };

  Builder.prototype.write = function () {
    this.input.value = JSON.stringify(this.tree);
  };

  /** Something changed: store it, redraw when the shape changed, and count again a little later. */
  Builder.prototype.changed = function (redraw) {
    this.write();
    this.errors = {};
    if (redraw) this.render();
    this.showErrors({});
    this.schedule();
  };

  Builder.prototype.schedule = function () {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.preview({}), this.o.debounceMs || 400);
  };

  // ----- drawing -----

  Builder.prototype.render = function () {
    const focused = document.activeElement && document.activeElement.id;
    this.container.replaceChildren(this.node(this.tree.root, "root", null, 1));
    if (this.unreadable) {
      this.showTop([this.L.unreadable]);
    }
    if (focused) {
      const again = document.getElementById(focused);
      if (again) again.focus();
    }
    this.write();
  };

  Builder.prototype.node = function (node, path, parent, depth) {
    const L = this.L;
    const box = el("div", {
      class: "rule-node" + (node.type === "group" ? " rule-group" : " rule-condition") + (node.negate ? " rule-negated" : ""),
      "data-path": path,
      "data-type": node.type || "",
      role: "group",
      "aria-labelledby": idFor(path, "title"),
    });
    const head = el("div", { class: "rule-head d-flex flex-wrap align-items-center gap-2" });
    const title =
      path === "root"
        ? L.customersWhere
        : node.type === "group"
          ? L.group
          : (this.o.nodeTypes.find((t) => t.type === node.type) || {}).label || node.type;
    head.append(el("span", { class: "rule-title fw-semibold", id: idFor(path, "title"), text: title }));
    if (node.type === "group") head.append(this.groupOp(node, path));

    const notId = idFor(path, "negate");
    const negate = el("input", { type: "checkbox", class: "form-check-input", id: notId, role: "switch", checked: !!node.negate });
    negate.addEventListener("change", () => {
      if (negate.checked) node.negate = true;
      else delete node.negate;
      this.changed(true);
    });
    head.append(
      el("div", { class: "form-check form-switch mb-0 ms-auto", title: L.notHelp }, [
        negate,
        el("label", { class: "form-check-label", for: notId, text: L.not }),
      ])
    );
    if (parent) {
      const remove = el("button", {
        type: "button",
        class: "btn btn-sm btn-outline-danger rule-remove",
        id: idFor(path, "remove"),
        "aria-label": L.removeNamed.replace("%(what)s", title),
        text: L.remove,
      });
      remove.addEventListener("click", () => {
        parent.children.splice(parent.children.indexOf(node), 1);
        this.changed(true);
        const add = document.getElementById(idFor(path.replace(/\.children\.\d+$/, ""), "add"));
        if (add) add.focus();
      });
      head.append(remove);
    }
    box.append(head);
    if (node.negate) head.prepend(el("span", { class: "badge text-bg-warning rule-not-badge", text: L.notBadge }));

    const body = el("div", { class: "rule-body" });
    const editor = {
      group: this.groupBody,
      field: this.fieldBody,
      product: this.productBody,
      transaction: this.transactionBody,
      interaction: this.interactionBody,
      consent: this.consentBody,
      value: this.valueBody,
      segment: this.segmentBody,
    }[node.type];
    if (editor) editor.call(this, body, node, path, depth);
    else if (this.o.nodeTypes.some((t) => t.type === node.type && t.example)) this.extraBody(body, node, path);
    else body.append(el("pre", { class: "small ltr mb-0", text: JSON.stringify(node) }));
    box.append(body);
    box.append(el("div", { class: "rule-errors", id: idFor(path, "errors"), "aria-live": "polite" }));
    return box;
  };

  Builder.prototype.groupOp = function (node, path) {
    const L = this.L;
    return this.select(idFor(path, "op"), L.combine, [["and", L.allOf], ["or", L.anyOf]], node.op || "and", (v) => {
      node.op = v;
      this.changed(false);
    }, { hiddenLabel: true, small: true });
  };

  Builder.prototype.groupBody = function (body, node, path, depth) {
    const L = this.L;
    const list = el("div", { class: "rule-children" });
    node.children = node.children || [];
    node.children.forEach((child, i) => list.append(this.node(child, path + ".children." + i, node, depth + 1)));
    if (!node.children.length) list.append(el("p", { class: "text-muted small mb-2 rule-empty", text: L.emptyGroup }));
    body.append(list);

    const menuId = idFor(path, "add");
    const items = this.o.nodeTypes.filter((t) => t.type !== "group" || depth < this.o.maxDepth - 1);
    const menuButton = el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-primary dropdown-toggle",
      id: menuId,
      "aria-haspopup": "true",
      "aria-expanded": "false",
      "aria-controls": menuId + "-menu",
      text: path === "root" ? L.addCondition : L.addToGroup,
    });
    const menu = el(
      "ul",
      { class: "dropdown-menu", id: menuId + "-menu", "aria-labelledby": menuId },
      items.map((t) => {
        const item = el("button", { type: "button", class: "dropdown-item", "data-add": t.type, text: t.label });
        item.addEventListener("click", () => {
          node.children.push(this.fresh(t.type));
          this.changed(true);
          const added = document.querySelector('[data-path="' + path + ".children." + (node.children.length - 1) + '"]');
          const first = added && added.querySelector(".rule-body select, .rule-body input, .rule-head select");
          if (first) first.focus();
        });
        return el("li", {}, [item]);
      })
    );
    const open = (show) => {
      menu.classList.toggle("show", show);
      menuButton.setAttribute("aria-expanded", show ? "true" : "false");
      if (show) menu.querySelector(".dropdown-item").focus();
    };
    menuButton.addEventListener("click", () => open(!menu.classList.contains("show")));
    menuButton.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        open(true);
      }
    });
    menu.addEventListener("keydown", (event) => {
      const buttons = Array.from(menu.querySelectorAll(".dropdown-item"));
      const at = buttons.indexOf(document.activeElement);
      if (event.key === "Escape") {
        open(false);
        menuButton.focus();
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        buttons[(at + step + buttons.length) % buttons.length].focus();
      }
    });
    menu.addEventListener("focusout", (event) => {
      if (!menu.contains(event.relatedTarget) && event.relatedTarget !== menuButton) open(false);
    });
    body.append(el("div", { class: "dropdown rule-add" }, [menuButton, menu]));
  };

  /** A kind of condition registered by another app (loyalty ...): its fields as JSON, checked by the server. */
  Builder.prototype.extraBody = function (body, node, path) {
    const id = idFor(path, "json");
    const own = Object.fromEntries(Object.entries(node).filter(([key]) => key !== "type" && key !== "negate"));
    const area = el("textarea", { class: "form-control form-control-sm ltr font-monospace", id: id, rows: 2, spellcheck: "false" });
    area.value = JSON.stringify(own);
    area.addEventListener("input", () => {
      let parsed = null;
      try {
        parsed = JSON.parse(area.value);
      } catch (error) {
        parsed = null;
      }
      const valid = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
      area.classList.toggle("is-invalid", !valid);
      if (!valid) return;
      Object.keys(node).forEach((key) => { if (key !== "type" && key !== "negate") delete node[key]; });
      Object.entries(parsed).forEach(([key, value]) => { if (key !== "type" && key !== "negate") node[key] = value; });
      this.changed(false);
    });
    const help = (this.o.nodeTypes.find((t) => t.type === node.type) || {}).help || "";
    body.append(el("label", { class: "form-label small mb-1", for: id, text: this.L.conditionJson }), area);
    if (help) body.append(el("div", { class: "form-text ltr", text: help }));
  };

  /** A new node of a type, with the values a user most often wants. */
  Builder.prototype.fresh = function (type) {
    const calendar = this.loc.persian ? "jalali" : "gregorian";
    switch (type) {
      case "group":
        return { type: "group", op: "and", children: [] };
      case "field":
        return { type: "field", field: "region", operator: "in", value: [] };
      case "product":
        return { type: "product", has: true, product_types: [], credit: null };
      case "transaction":
        return {
          type: "transaction",
          measure: "sum",
          window: { kind: "previous_month", months_ago: 1, calendar: calendar },
          kinds: [],
          channels: [],
          test: { operator: "gt", value: "" },
        };
      case "interaction":
        return {
          type: "interaction",
          measure: "count",
          window: { kind: "last_days", days: 90 },
          kinds: [],
          channels: [],
          outcomes: [],
          direction: null,
          test: { operator: "eq", value: "0" },
        };
      case "consent":
        return { type: "consent", channel: "sms", purpose: "marketing", granted: true };
      case "value":
        return { type: "value", field: "priority", one_of: [] };
      case "segment":
        return { type: "segment", segment_id: null };
    }
    const extra = this.o.nodeTypes.find((t) => t.type === type && t.example);
    if (extra) return Object.assign(JSON.parse(JSON.stringify(extra.example)), { type: type });
    return { type: type };
  };

  // ----- controls -----

  Builder.prototype.labelled = function (id, label, control, options) {
    const opts = options || {};
    return el("div", { class: "rule-control" + (opts.grow ? " rule-control-grow" : "") }, [
      el("label", { class: "form-label small mb-1" + (opts.hiddenLabel ? " visually-hidden" : ""), for: id, text: label }),
      control,
    ]);
  };

  Builder.prototype.select = function (id, label, choices, value, onChange, options) {
    const opts = options || {};
    const control = el(
      "select",
      { class: "form-select form-select-sm" + (opts.small ? " w-auto" : ""), id: id, "aria-label": opts.hiddenLabel ? label : null },
      (opts.placeholder !== undefined ? [["", opts.placeholder]] : []).concat(choices).map(([v, text]) =>
        el("option", { value: v, selected: String(v) === String(value === null || value === undefined ? "" : value), text: text })
      )
    );
    control.addEventListener("change", () => onChange(control.value));
    if (opts.small) return control;
    return this.labelled(id, label, control, opts);
  };

  Builder.prototype.checks = function (id, legend, choices, selected, onChange) {
    const chosen = new Set((selected || []).map(String));
    const boxes = el("div", { class: "rule-checks-list" });
    choices.forEach(([value, text], i) => {
      const boxId = id + "-" + i;
      const box = el("input", { type: "checkbox", class: "form-check-input", id: boxId, value: value, checked: chosen.has(String(value)) });
      box.addEventListener("change", () => {
        const values = Array.from(boxes.querySelectorAll("input:checked")).map((b) => b.value);
        onChange(values);
      });
      boxes.append(el("div", { class: "form-check", "data-text": String(text).toLowerCase() }, [box, el("label", { class: "form-check-label", for: boxId, text: text })]));
    });
    const set = el("fieldset", { class: "rule-checks", id: id }, [el("legend", { class: "form-label small mb-1", text: legend })]);
    if (choices.length > 12) {
      const filterId = id + "-filter";
      const filter = el("input", { type: "search", class: "form-control form-control-sm mb-1", id: filterId, placeholder: this.L.filter, "aria-label": this.L.filter });
      filter.addEventListener("input", () => {
        const wanted = filter.value.trim().toLowerCase();
        boxes.querySelectorAll(".form-check").forEach((row) => {
          row.hidden = wanted !== "" && row.dataset.text.indexOf(wanted) < 0;
        });
      });
      set.append(filter);
    }
    if (!choices.length) set.append(el("p", { class: "small text-muted mb-0", text: this.L.listEmpty }));
    set.append(boxes);
    return set;
  };

  Builder.prototype.numberInput = function (id, label, value, onChange, options) {
    const opts = options || {};
    const loc = this.loc;
    const control = el("input", {
      type: "text",
      inputmode: "decimal",
      class: "form-control form-control-sm rule-number ltr",
      id: id,
      value: loc.formatNumber(value),
      "aria-label": opts.hiddenLabel ? label : null,
      autocomplete: "off",
    });
    const feedback = el("div", { class: "invalid-feedback", text: this.L.notANumber });
    const read = () => {
      const text = control.value;
      const parsed = text.trim() === "" ? "" : loc.parseNumber(text);
      control.classList.toggle("is-invalid", parsed === null);
      const out = parsed === null ? "" : parsed;
      onChange(opts.integer && /^-?\d+$/.test(out) ? Number(out) : out);
      return parsed;
    };
    control.addEventListener("input", read);
    control.addEventListener("change", () => {
      const parsed = read();
      if (parsed) control.value = loc.formatNumber(parsed);
    });
    const wrap = el("div", { class: "rule-input" }, [control, feedback]);
    return this.labelled(id, label, wrap, opts);
  };

  Builder.prototype.dateInput = function (id, label, value, onChange, options) {
    const L = this.L;
    const loc = this.loc;
    const opts = options || {};
    if (!loc.persian) {
      const control = el("input", { type: "date", class: "form-control form-control-sm", id: id, value: value || "" });
      control.addEventListener("change", () => onChange(control.value || null));
      control.addEventListener("input", () => onChange(control.value || null));
      return this.labelled(id, label, control, opts);
    }
    // Persian: a text box that shows and reads Jalali dates, and a month calendar to pick from.
    const control = el("input", {
      type: "text",
      inputmode: "numeric",
      class: "form-control form-control-sm rule-date ltr",
      id: id,
      value: loc.formatDate(value),
      placeholder: loc.digits("1403/01/01"),
      "data-iso": value || "",
      autocomplete: "off",
      "aria-describedby": id + "-gregorian",
    });
    const feedback = el("div", { class: "invalid-feedback", text: L.notADate });
    const gregorian = el("div", { class: "form-text rule-gregorian", id: id + "-gregorian", text: value ? loc.digits(value) : "" });
    const set = (iso) => {
      control.dataset.iso = iso || "";
      gregorian.textContent = iso ? loc.digits(iso) : "";
      onChange(iso);
    };
    const read = () => {
      const text = control.value.trim();
      const iso = text === "" ? null : loc.parseDate(text);
      control.classList.toggle("is-invalid", text !== "" && iso === null);
      set(iso);
      return iso;
    };
    control.addEventListener("input", read);
    control.addEventListener("change", () => {
      const iso = read();
      if (iso) control.value = loc.formatDate(iso);
    });
    const toggle = el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-secondary rule-calendar-toggle",
      id: id + "-calendar",
      "aria-expanded": "false",
      "aria-controls": id + "-picker",
      "aria-label": L.chooseDate,
      title: L.chooseDate,
    });
    toggle.append(calendarIcon());
    const picker = el("div", { class: "jalali-picker card p-2", id: id + "-picker", role: "dialog", "aria-label": L.chooseDate, hidden: true });
    const close = () => {
      picker.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    };
    const draw = (jy, jm) => {
      // The arrows are mirrored in right-to-left text, so "‹" points outwards on either side.
      const previous = el("button", { type: "button", class: "btn btn-sm btn-link", "aria-label": L.previousMonth, text: "‹" });
      const next = el("button", { type: "button", class: "btn btn-sm btn-link", "aria-label": L.nextMonth, text: "›" });
      previous.addEventListener("click", () => (jm === 1 ? draw(jy - 1, 12) : draw(jy, jm - 1)));
      next.addEventListener("click", () => (jm === 12 ? draw(jy + 1, 1) : draw(jy, jm + 1)));
      const heading = el("div", { class: "fw-semibold jalali-picker-month", "aria-live": "polite", text: JALALI_MONTHS[jm - 1] + " " + loc.digits(jy) });
      const grid = el("div", { class: "jalali-picker-grid", role: "grid" });
      JALALI_WEEKDAYS.forEach((d) => grid.append(el("span", { class: "jalali-picker-weekday small text-muted", text: d })));
      for (let i = 0; i < Jalali.weekday(jy, jm, 1); i += 1) grid.append(el("span"));
      const currentIso = control.dataset.iso;
      for (let d = 1; d <= Jalali.monthLength(jy, jm); d += 1) {
        const g = Jalali.toGregorian(jy, jm, d);
        const iso = isoOf(g[0], g[1], g[2]);
        const day = el("button", {
          type: "button",
          class: "btn btn-sm jalali-picker-day" + (iso === currentIso ? " btn-primary" : " btn-light"),
          "data-iso": iso,
          "aria-label": loc.digits(d) + " " + JALALI_MONTHS[jm - 1] + " " + loc.digits(jy),
          "aria-pressed": iso === currentIso ? "true" : "false",
          text: loc.digits(d),
        });
        day.addEventListener("click", () => {
          control.value = loc.formatDate(iso);
          control.classList.remove("is-invalid");
          set(iso);
          close();
          control.focus();
        });
        grid.append(day);
      }
      picker.replaceChildren(el("div", { class: "d-flex justify-content-between align-items-center mb-1" }, [previous, heading, next]), grid);
    };
    toggle.addEventListener("click", () => {
      if (!picker.hidden) return close();
      const iso = control.dataset.iso || new Date().toISOString().slice(0, 10);
      const j = Jalali.toJalali(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)), Number(iso.slice(8, 10)));
      draw(j[0], j[1]);
      picker.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      const chosen = picker.querySelector(".btn-primary.jalali-picker-day") || picker.querySelector(".jalali-picker-day");
      if (chosen) chosen.focus();
    });
    picker.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        close();
        toggle.focus();
      }
    });
    const wrap = el("div", { class: "rule-input position-relative" }, [
      el("div", { class: "input-group input-group-sm" }, [control, toggle, feedback]),
      gregorian,
      picker,
    ]);
    return this.labelled(id, label, wrap, opts);
  };

  /** Operator and one or two numbers: {"operator": "gt", "value": "100000"} or between ["1", "5"]. */
  Builder.prototype.numberTest = function (row, test, path, label, options) {
    const L = this.L;
    const opts = options || {};
    const operators = (opts.operators || SINGLE_OPERATORS.concat(["between"])).map((op) => [op, this.o.operators[op]]);
    row.append(
      this.select(idFor(path, "operator"), label, operators, test.operator, (op) => {
        const was = test.operator;
        test.operator = op;
        if (op === "between" && was !== "between") test.value = [Array.isArray(test.value) ? "" : test.value || "", ""];
        if (op !== "between" && was === "between") test.value = Array.isArray(test.value) ? test.value[0] : "";
        this.changed(true);
      })
    );
    const number = opts.integer ? { integer: true } : {};
    if (test.operator === "between") {
      if (!Array.isArray(test.value)) test.value = ["", ""];
      row.append(
        this.numberInput(idFor(path, "from"), L.from, test.value[0], (v) => { test.value[0] = v; this.changed(false); }, number),
        this.numberInput(idFor(path, "to"), L.to, test.value[1], (v) => { test.value[1] = v; this.changed(false); }, number)
      );
    } else {
      row.append(this.numberInput(idFor(path, "value"), L.value, test.value, (v) => { test.value = v; this.changed(false); }, number));
    }
  };

  Builder.prototype.windowEditor = function (row, node, path) {
    const L = this.L;
    const w = node.window;
    row.append(
      this.select(idFor(path, "window"), L.when, [["last_days", L.lastDays], ["previous_month", L.previousMonthWindow], ["between", L.betweenDates]], w.kind, (kind) => {
        if (kind === "last_days") node.window = { kind: kind, days: 90 };
        if (kind === "previous_month") node.window = { kind: kind, months_ago: 1, calendar: this.loc.persian ? "jalali" : "gregorian" };
        if (kind === "between") node.window = { kind: kind, start: null, end: null };
        this.changed(true);
      })
    );
    if (w.kind === "last_days") {
      row.append(this.numberInput(idFor(path, "days"), L.days, w.days, (v) => { w.days = v; this.changed(false); }, { integer: true }));
    } else if (w.kind === "previous_month") {
      row.append(
        this.numberInput(idFor(path, "months-ago"), L.monthsAgo, w.months_ago, (v) => { w.months_ago = v; this.changed(false); }, { integer: true }),
        this.select(idFor(path, "calendar"), L.calendar, [["jalali", L.jalali], ["gregorian", L.gregorian]], w.calendar || "jalali", (v) => { w.calendar = v; this.changed(false); })
      );
    } else if (w.kind === "between") {
      row.append(
        this.dateInput(idFor(path, "start"), L.from, w.start, (v) => { w.start = v; this.changed(false); }),
        this.dateInput(idFor(path, "end"), L.to, w.end, (v) => { w.end = v; this.changed(false); })
      );
    }
  };

  function row() {
    return el("div", { class: "rule-row d-flex flex-wrap gap-2 align-items-start" });
  }

  function pairs(list) {
    return list.map((item) => [item.code, item.name]);
  }

  // ----- editors of each kind of node -----

  Builder.prototype.fieldBody = function (body, node, path) {
    const L = this.L;
    const field = this.fields[node.field];
    const line = row();
    line.append(
      this.select(idFor(path, "field"), L.field, this.o.fields.map((f) => [f.name, f.label]), node.field, (name) => {
        const f = this.fields[name];
        node.field = name;
        node.operator = f.operators[0];
        node.value = this.defaultValue(f, node.operator);
        this.changed(true);
      }, { placeholder: node.field in this.fields ? undefined : L.choose })
    );
    if (!field) {
      body.append(line);
      return;
    }
    line.append(
      this.select(idFor(path, "operator"), L.operator, field.operators.map((op) => [op, this.operatorLabel(field, op)]), node.operator, (op) => {
        const was = node.operator;
        node.operator = op;
        node.value = this.adaptValue(field, was, op, node.value);
        this.changed(true);
      })
    );
    body.append(line);
    const op = node.operator;
    if (op === "is_empty" || op === "is_not_empty") return;
    const valueId = idFor(path, "value");
    const set = (v) => {
      node.value = v;
      this.changed(false);
    };
    if (field.options) {
      const choices = pairs(field.options);
      if (op === "in" || op === "not_in") {
        body.append(this.checks(valueId, L.values, choices, Array.isArray(node.value) ? node.value : [], set));
      } else {
        line.append(this.select(valueId, L.value, choices, node.value, (v) => set(v || null), { placeholder: L.choose }));
      }
    } else if (field.kind === "bool") {
      line.append(this.select(valueId, L.value, [["true", L.yes], ["false", L.no]], node.value === false ? "false" : node.value === true ? "true" : "", (v) => set(v === "" ? null : v === "true"), { placeholder: L.choose }));
    } else if (field.kind === "date") {
      if (op === "between") {
        const pair = Array.isArray(node.value) ? node.value : [null, null];
        node.value = pair;
        line.append(
          this.dateInput(valueId + "-from", L.from, pair[0], (v) => { pair[0] = v; this.changed(false); }),
          this.dateInput(valueId + "-to", L.to, pair[1], (v) => { pair[1] = v; this.changed(false); })
        );
      } else {
        line.append(this.dateInput(valueId, L.date, node.value, set));
      }
    } else if (field.kind === "number") {
      if (op === "between") {
        const pair = Array.isArray(node.value) ? node.value : ["", ""];
        node.value = pair;
        line.append(
          this.numberInput(valueId + "-from", L.from, pair[0], (v) => { pair[0] = v; this.changed(false); }),
          this.numberInput(valueId + "-to", L.to, pair[1], (v) => { pair[1] = v; this.changed(false); })
        );
      } else {
        line.append(this.numberInput(valueId, L.value, node.value, set));
      }
    } else {
      const text = el("input", { type: "text", class: "form-control form-control-sm", id: valueId, value: node.value || "", maxlength: 150 });
      text.addEventListener("input", () => set(text.value));
      line.append(this.labelled(valueId, L.value, text));
    }
  };

  Builder.prototype.operatorLabel = function (field, op) {
    if (field.kind === "date" && this.o.dateOperators[op]) return this.o.dateOperators[op];
    return this.o.operators[op];
  };

  Builder.prototype.defaultValue = function (field, op) {
    if (op === "is_empty" || op === "is_not_empty") return null;
    if (op === "in" || op === "not_in") return [];
    if (op === "between") return field.kind === "date" ? [null, null] : ["", ""];
    if (field.kind === "bool") return true;
    return null;
  };

  /** Keep what still fits when the operator changes: a single value into a list and back. */
  Builder.prototype.adaptValue = function (field, was, op, value) {
    const listOps = ["in", "not_in"];
    if (listOps.includes(op) && listOps.includes(was)) return value;
    if (listOps.includes(op)) return value !== null && value !== undefined && value !== "" && !Array.isArray(value) ? [value] : [];
    if (op === "between") return Array.isArray(value) && was === "between" ? value : [Array.isArray(value) ? null : value, null].map((v) => (v === undefined ? null : v));
    if (op === "is_empty" || op === "is_not_empty") return null;
    if (Array.isArray(value)) return listOps.includes(was) && value.length ? value[0] : was === "between" ? value[0] : this.defaultValue(field, op);
    if (value === null || value === undefined) return this.defaultValue(field, op);
    return value;
  };

  Builder.prototype.productBody = function (body, node, path) {
    const L = this.L;
    const line = row();
    line.append(
      this.select(idFor(path, "has"), L.holds, [["true", L.holdsYes], ["false", L.holdsNo]], node.has === false ? "false" : "true", (v) => {
        node.has = v === "true";
        this.changed(false);
      }),
      this.select(idFor(path, "credit"), L.creditFlag, [["", L.anyProduct], ["true", L.creditOnly], ["false", L.nonCreditOnly]], node.credit === true ? "true" : node.credit === false ? "false" : "", (v) => {
        node.credit = v === "" ? null : v === "true";
        this.changed(false);
      })
    );
    body.append(line);
    const types = this.o.productTypes.map((p) => [p.code, p.is_credit ? p.name + " · " + L.credit : p.name]);
    body.append(
      this.checks(idFor(path, "types"), L.productTypes, types, node.product_types || [], (v) => {
        node.product_types = v;
        this.changed(false);
      })
    );
    const balanceId = idFor(path, "with-balance");
    const withBalance = el("input", { type: "checkbox", class: "form-check-input", id: balanceId, checked: !!node.balance });
    withBalance.addEventListener("change", () => {
      node.balance = withBalance.checked ? { operator: "gte", value: "" } : null;
      this.changed(true);
    });
    body.append(el("div", { class: "form-check mt-2" }, [withBalance, el("label", { class: "form-check-label", for: balanceId, text: L.withBalance })]));
    if (node.balance) {
      const balance = row();
      this.numberTest(balance, node.balance, path + ".balance", L.balance);
      body.append(balance);
    }
  };

  Builder.prototype.transactionBody = function (body, node, path) {
    const L = this.L;
    const line = row();
    line.append(
      this.select(idFor(path, "measure"), L.measure, this.o.transactionMeasures.map((m) => [m.code, m.name]), node.measure, (v) => {
        node.measure = v;
        this.changed(false);
      })
    );
    node.window = node.window || { kind: "last_days", days: 30 };
    this.windowEditor(line, node, path);
    body.append(line);
    const test = row();
    node.test = node.test || { operator: "gt", value: "" };
    this.numberTest(test, node.test, path + ".test", L.is);
    body.append(test);
    const lists = el("div", { class: "rule-row d-flex flex-wrap gap-3" });
    lists.append(
      this.checks(idFor(path, "kinds"), L.transactionKinds, pairs(this.o.transactionKinds), node.kinds, (v) => { node.kinds = v; this.changed(false); }),
      this.checks(idFor(path, "channels"), L.transactionChannels, pairs(this.o.transactionChannels), node.channels, (v) => { node.channels = v; this.changed(false); })
    );
    body.append(lists);
  };

  Builder.prototype.interactionBody = function (body, node, path) {
    const L = this.L;
    const line = row();
    line.append(
      this.select(idFor(path, "measure"), L.measure, [["count", L.interactionCount], ["days_since_last", L.daysSinceLast]], node.measure, (v) => {
        node.measure = v;
        if (v === "count") {
          node.window = node.window || { kind: "last_days", days: 90 };
          node.test = { operator: "eq", value: "0" };
        } else {
          node.window = null;
          node.test = { operator: "gt", value: "90" };
        }
        this.changed(true);
      })
    );
    if (node.measure === "count") {
      node.window = node.window || { kind: "last_days", days: 90 };
      this.windowEditor(line, node, path);
    }
    line.append(
      this.select(idFor(path, "direction"), L.direction, [["", L.eitherDirection]].concat(pairs(this.o.directions)), node.direction || "", (v) => {
        node.direction = v || null;
        this.changed(false);
      })
    );
    body.append(line);
    const test = row();
    node.test = node.test || { operator: "eq", value: "0" };
    this.numberTest(test, node.test, path + ".test", node.measure === "count" ? L.howMany : L.howManyDays);
    body.append(test);
    const lists = el("div", { class: "rule-row d-flex flex-wrap gap-3" });
    lists.append(
      this.checks(idFor(path, "kinds"), L.interactionKinds, pairs(this.o.interactionKinds), node.kinds, (v) => { node.kinds = v; this.changed(false); }),
      this.checks(idFor(path, "channels"), L.interactionChannels, pairs(this.o.interactionChannels), node.channels, (v) => { node.channels = v; this.changed(false); }),
      this.checks(idFor(path, "outcomes"), L.outcomes, pairs(this.o.outcomes), node.outcomes, (v) => { node.outcomes = v; this.changed(false); })
    );
    body.append(lists);
    body.append(el("p", { class: "form-text mb-0", text: L.anyWhenNone }));
  };

  Builder.prototype.consentBody = function (body, node, path) {
    const L = this.L;
    const line = row();
    line.append(
      this.select(idFor(path, "granted"), L.consent, [["true", L.consentGiven], ["false", L.consentNotGiven]], node.granted === false ? "false" : "true", (v) => {
        node.granted = v === "true";
        this.changed(false);
      }),
      this.select(idFor(path, "channel"), L.channel, pairs(this.o.consentChannels), node.channel, (v) => { node.channel = v; this.changed(false); }),
      this.select(idFor(path, "purpose"), L.purpose, pairs(this.o.consentPurposes), node.purpose || "marketing", (v) => { node.purpose = v; this.changed(false); })
    );
    body.append(line);
  };

  Builder.prototype.valueBody = function (body, node, path) {
    const L = this.L;
    const line = row();
    line.append(
      this.select(idFor(path, "field"), L.field, this.o.values.map((v) => [v.name, v.label]), node.field, (name) => {
        node.field = name;
        if (this.values[name].options) {
          node.one_of = [];
          delete node.test;
        } else {
          node.test = { operator: "gte", value: "" };
          delete node.one_of;
        }
        this.changed(true);
      })
    );
    body.append(line);
    const spec = this.values[node.field];
    if (spec && spec.options) {
      body.append(this.checks(idFor(path, "one-of"), L.oneOf, pairs(spec.options), node.one_of || [], (v) => { node.one_of = v; this.changed(false); }));
    } else if (spec) {
      node.test = node.test || { operator: "gte", value: "" };
      this.numberTest(line, node.test, path + ".test", L.is);
    }
  };

  Builder.prototype.segmentBody = function (body, node, path) {
    const L = this.L;
    const choices = this.o.segments.map((s) => [String(s.id), s.name]);
    const line = row();
    line.append(
      this.select(idFor(path, "segment"), L.segment, choices, node.segment_id === null || node.segment_id === undefined ? "" : node.segment_id, (v) => {
        node.segment_id = v ? Number(v) : null;
        this.changed(false);
      }, { placeholder: L.choose, grow: true })
    );
    if (!choices.length) line.append(el("p", { class: "small text-muted mb-0", text: L.noSegments }));
    body.append(line);
  };

  // ----- what is not finished yet: shown as a hint, and the count waits -----

  Builder.prototype.gaps = function () {
    const gaps = {};
    const empty = (v) => v === null || v === undefined || v === "";
    const testGap = (t) => !t || (t.operator === "between" ? !Array.isArray(t.value) || t.value.some(empty) : empty(t.value));
    const windowGap = (w) =>
      !w || (w.kind === "last_days" && empty(w.days)) || (w.kind === "previous_month" && empty(w.months_ago)) || (w.kind === "between" && (empty(w.start) || empty(w.end)));
    const visit = (node, path) => {
      let gap = false;
      switch (node.type) {
        case "group":
          // An empty group says so in its own body; it only holds the count back.
          if (!node.children || !node.children.length) gaps[path] = "";
          (node.children || []).forEach((child, i) => visit(child, path + ".children." + i));
          return;
        case "field":
          if (node.operator === "is_empty" || node.operator === "is_not_empty") break;
          if (Array.isArray(node.value)) gap = node.value.length === 0 || node.value.some(empty);
          else gap = empty(node.value);
          break;
        case "product":
          gap = !!node.balance && testGap(node.balance);
          break;
        case "transaction":
          gap = testGap(node.test) || windowGap(node.window);
          break;
        case "interaction":
          gap = testGap(node.test) || (node.measure === "count" && windowGap(node.window));
          break;
        case "value":
          gap = node.one_of !== undefined && node.one_of !== null ? node.one_of.length === 0 : testGap(node.test);
          break;
        case "segment":
          gap = empty(node.segment_id);
          break;
      }
      if (gap) gaps[path] = this.L.gapCondition;
    };
    visit(this.tree.root, "root");
    return gaps;
  };

  // ----- preview and errors -----

  Builder.prototype.preview = function (options) {
    const L = this.L;
    const status = document.getElementById("preview-status");
    const count = document.getElementById("preview-count");
    const gaps = this.gaps();
    this.hints = gaps;
    const sequence = (this.sequence += 1);
    if (!options.keepErrors) this.errors = {};
    this.showErrors(this.errors);
    if (Object.keys(gaps).length) {
      count.textContent = "—";
      status.textContent = this.tree.root.children && this.tree.root.children.length ? L.waitingForGaps : L.addFirst;
      this.sample([]);
      return Promise.resolve();
    }
    status.textContent = L.counting;
    this.container.closest("form").setAttribute("aria-busy", "true");
    return fetch(this.o.previewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.o.csrfToken || csrfFromPage(), Accept: "application/json" },
      body: JSON.stringify({ definition: this.tree }),
    })
      .then((response) => response.json().catch(() => ({})).then((body) => [response, body]))
      .then(([response, body]) => {
        if (sequence !== this.sequence) return; // a later change has asked again
        this.container.closest("form").removeAttribute("aria-busy");
        if (response.ok) {
          count.textContent = this.loc.formatNumber(String(body.count));
          status.textContent = L.counted;
          this.sample(body.sample || []);
          this.showErrors(options.keepErrors ? this.errors : {});
          return;
        }
        count.textContent = "—";
        this.sample([]);
        if (response.status === 422 && Array.isArray(body.detail)) {
          const errors = options.keepErrors ? clone(this.errors) : {};
          body.detail.forEach((d) => {
            const path = d.field || (Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "");
            errors[path] = errors[path] || [];
            if (!errors[path].includes(d.msg)) errors[path].push(d.msg);
          });
          status.textContent = L.fixErrors;
          this.showErrors(errors);
        } else {
          status.textContent = L.previewFailed + " (" + response.status + ")";
        }
      })
      .catch(() => {
        if (sequence !== this.sequence) return;
        this.container.closest("form").removeAttribute("aria-busy");
        count.textContent = "—";
        status.textContent = L.previewFailed;
      });
  };

  Builder.prototype.sample = function (rows) {
    const table = document.getElementById("preview-sample");
    const body = table.querySelector("tbody");
    body.replaceChildren(
      ...rows.map((c) =>
        el("tr", { "data-customer": c.id }, [
          el("td", {}, [el("a", { href: this.o.customerUrl.replace("/0/", "/" + c.id + "/"), text: c.display_name || "—" })]),
          el("td", { text: (c.region && this.o.regionNames[c.region]) || c.region || "" }),
          el("td", { text: this.o.statusNames[c.status] || c.status }),
          el("td", { class: "ltr", text: this.loc.digits(c.national_id || "") }),
        ])
      )
    );
    table.hidden = rows.length === 0;
  };

  Builder.prototype.nodePaths = function () {
    const paths = [];
    const visit = (node, path) => {
      paths.push(path);
      (node.type === "group" ? node.children || [] : []).forEach((child, i) => visit(child, path + ".children." + i));
    };
    visit(this.tree.root, "root");
    return paths.sort((a, b) => b.length - a.length); // the deepest first
  };

  Builder.prototype.showTop = function (messages) {
    const top = document.getElementById("builder-errors");
    top.replaceChildren(...messages.map((m) => el("li", { text: m })));
    top.closest(".alert").hidden = messages.length === 0;
  };

  /** Errors by path: each shown at the deepest node whose path starts its own, the rest at the top. */
  Builder.prototype.showErrors = function (errors) {
    this.errors = errors;
    this.container.querySelectorAll(".rule-errors").forEach((box) => box.replaceChildren());
    this.container.querySelectorAll(".rule-node.is-invalid").forEach((n) => n.classList.remove("is-invalid"));
    const paths = this.nodePaths();
    const top = this.unreadable ? [this.L.unreadable] : [];
    Object.entries(errors).forEach(([path, messages]) => {
      const owner = paths.find((p) => path === p || path.startsWith(p + ".") || path.startsWith(p + "<"));
      const box = owner && document.getElementById(idFor(owner, "errors"));
      if (!box) {
        messages.forEach((m) => top.push(path ? path + ": " + m : m));
        return;
      }
      const rest = path.slice(owner.length).replace(/^\./, "");
      box.closest(".rule-node").classList.add("is-invalid");
      messages.forEach((m) =>
        box.append(el("div", { class: "invalid-feedback d-block", "data-error-path": path }, [rest ? el("code", { class: "me-1", text: rest }) : null, m]))
      );
    });
    Object.entries(this.hints || {}).forEach(([path, message]) => {
      const box = document.getElementById(idFor(path, "errors"));
      if (message && box && !box.querySelector(".invalid-feedback")) box.append(el("div", { class: "form-text rule-hint", text: message }));
    });
    this.showTop(top);
  };

  function csrfFromPage() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // ---------------------------------------------------------------------------------------------------------
  // Start on the builder page.
  // ---------------------------------------------------------------------------------------------------------
  function start() {
    const container = document.getElementById("rule-builder");
    const optionsNode = document.getElementById("builder-options");
    if (!container || !optionsNode) return;
    const options = JSON.parse(optionsNode.textContent);
    const errorsNode = document.getElementById("builder-server-errors");
    const errors = errorsNode ? JSON.parse(errorsNode.textContent) : {};
    container.hidden = false;
    document.querySelectorAll(".needs-script").forEach((n) => (n.hidden = false));
    window.navidBuilder = new Builder(container, options, document.getElementById("id_definition"), errors);
  }

  window.NavidJalali = Jalali;
  window.NavidLocale = makeLocale;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
