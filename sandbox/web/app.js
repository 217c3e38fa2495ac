// The sandbox's chat page: simulated Telegram users talk to the bot through /sandbox/ (the
// control API); new messages and the bot's Bot API calls arrive live over /sandbox/events.
// Bot text is never parsed as HTML: it arrives as plain text plus entities (the sandbox parsed
// the bot's parse_mode the way Telegram does) and is rebuilt here node by node.
"use strict";

const LABELS = {
  en: {
    addCustomer: "Add a customer", name: "Name", add: "Add", botLanguage: "Bot language",
    selectChat: "Select a chat", message: "Message", send: "Send", start: "START",
    shareContact: "Share my phone number", attach: "Send a photo or file",
    apiCalls: "Bot API calls", showPolling: "getUpdates", clear: "Clear", bot: "bot",
    group: "group", forum: "forum with topics", members: "members", general: "General",
    customer: "customer", you: "you are", typing: "typing…", edited: "edited",
    topicCreated: "Topic created", contact: "Contact", location: "Location", pay: "Pay",
    paid: "Paid", invoice: "Invoice", params: "parameters", result: "result", error: "error",
    noMessages: "No messages yet", cannot: "The sandbox refused", added: "Customer added",
    notSupported: "This button does nothing in the sandbox", lang: "中文",
    starting: "The bot is starting… messages wait for it",
    replyingTo: "Reply to", noReply: "Send as a plain message",
  },
  zh: {
    addCustomer: "添加顾客", name: "名字", add: "添加", botLanguage: "机器人语言",
    selectChat: "选择一个聊天", message: "消息", send: "发送", start: "开始",
    shareContact: "分享我的手机号", attach: "发送图片或文件",
    apiCalls: "Bot API 调用", showPolling: "getUpdates", clear: "清空", bot: "机器人",
    group: "群组", forum: "话题群组", members: "成员", general: "综合",
    customer: "顾客", you: "当前身份", typing: "正在输入…", edited: "已编辑",
    topicCreated: "已创建话题", contact: "联系人", location: "位置", pay: "支付",
    paid: "已支付", invoice: "账单", params: "参数", result: "结果", error: "错误",
    noMessages: "还没有消息", cannot: "沙盒拒绝了操作", added: "已添加顾客",
    notSupported: "这个按钮在沙盒里不可用", lang: "English",
    starting: "机器人正在启动…消息会等它处理",
    replyingTo: "回复", noReply: "不回复，作为普通消息发送",
  },
};

const S = {
  lang: localStorage.getItem("sandbox.lang") || (navigator.language.startsWith("zh") ? "zh" : "en"),
  botId: null,
  hidden: new Set(),
  users: new Map(),
  chats: [],
  messages: new Map(), // chat id -> Map(message id -> message)
  unread: new Map(),
  current: null, // chat id
  topic: null, // forum topic (message_thread_id) or null for General
  calls: [],
  keyboard: null,
  botConnected: false, // the bot has polled (or set a webhook): until then the page says so
  atBottom: true, // the open chat shows its newest message: new content keeps it in view
  autoTop: null, // where our own last scroll put the chat (its scroll event is not the person's)
  plain: false, // the reply bar was closed: the next message is not a reply
};
const $ = (id) => document.getElementById(id);
const t = (key) => (LABELS[S.lang] || LABELS.en)[key] || key;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- the control API ------------------------------------------------------------------------
async function api(path, body, method) {
  const init = body === undefined ? { method: method || "GET" } : {
    method: method || "POST",
    headers: body instanceof FormData ? {} : { "content-type": "application/json" },
    body: body instanceof FormData ? body : JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ ok: false, description: response.statusText }));
  if (!data.ok) {
    toast(`${t("cannot")}: ${data.description}`);
    throw new Error(data.description);
  }
  return data.result;
}

function chatById(id) { return S.chats.find((c) => c.id === id); }

function actingUser(chat) {
  // Private chats: the user themself; groups: their creator (the demo merchant).
  if (!chat) return null;
  if (chat.type === "private") return chat.id;
  const members = Object.entries(chat.members || {});
  const creator = members.find(([, status]) => status === "creator");
  const person = creator || members.find(([id]) => !(S.users.get(Number(id)) || {}).is_bot);
  return person ? Number(person[0]) : null;
}

function chatName(chat) {
  if (!chat) return "";
  if (chat.type === "private") return [chat.first_name, chat.last_name].filter(Boolean).join(" ");
  return chat.title || String(chat.id);
}

// ---- loading and live events ----------------------------------------------------------------
async function loadChats() {
  const [users, chats] = await Promise.all([api("/sandbox/users"), api("/sandbox/chats")]);
  S.users = new Map(users.map((u) => [u.id, u]));
  S.chats = chats.filter((c) => !S.hidden.has(c.id) && !(c.type === "private" && (S.users.get(c.id) || {}).is_bot));
  // Groups first (the shop's own chats), then customers in the order they came.
  S.chats.sort((a, b) => (a.type === "private") - (b.type === "private"));
  await Promise.all(S.chats.filter((c) => !S.messages.has(c.id)).map(loadMessages));
  renderChatList();
}

async function loadMessages(chat) {
  const list = await api(`/sandbox/chats/${chat.id}/messages`);
  S.messages.set(chat.id, new Map(list.map((m) => [m.message_id, m])));
}

async function loadAll() {
  const [info, page] = await Promise.all([api("/sandbox/info"), api("/sandbox/page")]);
  S.botId = info.default_bot_id;
  S.botConnected = info.bots.some((b) => b.id === S.botId && b.connected);
  renderBotStatus();
  S.hidden = new Set(page.hidden_chats);
  document.title = page.title;
  $("title").textContent = page.title;
  S.messages.clear();
  await loadChats();
  const calls = await api("/sandbox/log");
  S.calls = calls.slice(-300);
  renderCalls();
  if (S.current === null || !chatById(S.current)) {
    const first = S.chats.find((c) => c.type === "private") || S.chats[0];
    if (first) await openChat(first.id, null);
  } else {
    await openChat(S.current, S.topic);
  }
}

function listen() {
  // Listening first, then loading: whatever happens while the page loads arrives as an event
  // (loaded before the stream opened, it would be missed until the next reload). On every
  // (re)connection the history is read again: it holds whatever happened meanwhile.
  const source = new EventSource("/sandbox/events");
  source.addEventListener("open", async () => {
    await loadAll();
    document.body.dataset.live = "true";
  });
  const on = (type, fn) => source.addEventListener(type, (e) => fn(JSON.parse(e.data)));
  on("message", (e) => upsert(e.chat_id, e.message, true));
  on("edit", (e) => upsert(e.chat_id, e.message, false));
  on("delete", (e) => {
    const box = S.messages.get(e.chat_id);
    if (box) box.delete(e.message_id);
    if (e.chat_id === S.current) document.querySelector(`.row[data-message-id="${e.message_id}"]`)?.remove();
    renderChatList();
  });
  on("user_created", () => loadChats());
  on("chat_created", () => loadChats());
  on("topic_edited", () => loadChats());
  on("request", (e) => addCall(e.entry));
  on("bot_connected", (e) => {
    if (e.bot_id === S.botId) { S.botConnected = true; renderBotStatus(); }
  });
  on("chat_action", (e) => {
    if (e.chat_id !== S.current) return;
    $("chat-subtitle").textContent = t("typing");
    $("chat-subtitle").classList.add("typing");
    setTimeout(renderHeader, 1500);
  });
}

function upsert(chatId, message, isNew) {
  if (!S.messages.has(chatId)) {
    if (!chatById(chatId)) return; // a hidden chat (the merchant's private chat)
    S.messages.set(chatId, new Map());
  }
  S.messages.get(chatId).set(message.message_id, message);
  if (message.forum_topic_created) loadChats();
  const shown = chatId === S.current && inTopic(message);
  if (shown) {
    const old = document.querySelector(`.row[data-message-id="${message.message_id}"]`);
    const node = renderMessage(chatById(chatId), message);
    if (old) old.replaceWith(node);
    else appendMessage(node);
    if (message.from && message.from.is_bot) refreshKeyboard();
    updateBars();
  } else if (isNew && message.from && message.from.is_bot) {
    S.unread.set(chatId, (S.unread.get(chatId) || 0) + 1);
  }
  renderChatList();
}

function inTopic(message) {
  const chat = chatById(S.current);
  if (!chat || !chat.is_forum) return true;
  const thread = message.is_topic_message ? message.message_thread_id : null;
  return (thread || null) === (S.topic || null);
}

// ---- chat list ------------------------------------------------------------------------------
function preview(message) {
  if (!message) return t("noMessages");
  if (message.text) return message.text;
  if (message.caption) return message.caption;
  if (message.photo) return "🖼";
  if (message.document) return `📄 ${message.document.file_name || ""}`;
  if (message.invoice) return `🧾 ${message.invoice.title}`;
  if (message.contact) return `👤 ${message.contact.phone_number}`;
  if (message.forum_topic_created) return `# ${message.forum_topic_created.name}`;
  return "…";
}

function avatar(chat) {
  const colors = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];
  const name = chatName(chat);
  const node = el("div", { class: "avatar" }, chat.is_forum ? "#" : (name[0] || "?").toUpperCase());
  node.style.background = colors[Math.abs(chat.id) % colors.length];
  return node;
}

function kindOf(chat) {
  if (chat.type === "private") {
    const user = S.users.get(chat.id) || {};
    return `${t("customer")} · ${user.language_code || ""}`;
  }
  return chat.is_forum ? t("forum") : t("group");
}

function renderChatList() {
  const list = $("chats");
  list.replaceChildren();
  for (const chat of S.chats) {
    const box = S.messages.get(chat.id) || new Map();
    const last = [...box.values()].pop();
    const unread = S.unread.get(chat.id) || 0;
    list.append(el("li", {
      class: `chat${chat.id === S.current ? " active" : ""}${unread ? " unread" : ""}`,
      dataset: { chatId: chat.id }, onclick: () => openChat(chat.id, null),
    }, avatar(chat), el("div", { class: "meta" },
      el("div", { class: "name" }, chatName(chat)),
      el("div", { class: "kind" }, kindOf(chat)),
      el("div", { class: "preview" }, preview(last).split("\n")[0])),
    unread ? el("span", { class: "badge" }, unread) : null));
    if (chat.is_forum) {
      for (const topic of chat.topics || []) {
        list.append(el("li", {
          class: `topic-item${chat.id === S.current && S.topic === topic.message_thread_id ? " active" : ""}`,
          dataset: { chatId: chat.id, topicId: topic.message_thread_id },
          onclick: () => openChat(chat.id, topic.message_thread_id),
        }, `# ${topic.name}`));
      }
    }
  }
}

// ---- the open chat --------------------------------------------------------------------------
async function openChat(chatId, topic) {
  S.current = chatId;
  S.topic = topic;
  S.unread.delete(chatId);
  const chat = chatById(chatId);
  renderHeader();
  renderTopics(chat);
  const area = $("messages");
  area.replaceChildren();
  const box = S.messages.get(chatId) || new Map();
  for (const message of box.values()) if (inTopic(message)) area.append(renderMessage(chat, message));
  followNewest(true);
  updateBars();
  renderChatList();
  await refreshKeyboard();
}

function updateBars() {
  // An empty private chat shows Telegram's START button instead of the text box.
  const chat = chatById(S.current);
  const box = S.messages.get(S.current) || new Map();
  const empty = Boolean(chat && chat.type === "private" && box.size === 0);
  $("composer").hidden = !chat || empty;
  $("start-bar").hidden = !empty;
}

function renderHeader() {
  const chat = chatById(S.current);
  if (!chat) return;
  $("chat-avatar").replaceWith(Object.assign(avatar(chat), { id: "chat-avatar" }));
  $("chat-title").textContent = chatName(chat);
  const who = S.users.get(actingUser(chat));
  const subtitle = chat.type === "private"
    ? `${t("bot")} · ${t("you")}: ${chatName(chat)}`
    : `${kindOf(chat)} · ${t("you")}: ${who ? who.first_name : "?"}`;
  $("chat-subtitle").textContent = subtitle;
  $("chat-subtitle").classList.remove("typing");
}

function renderTopics(chat) {
  const nav = $("topics");
  nav.replaceChildren();
  nav.hidden = !(chat && chat.is_forum);
  if (nav.hidden) return;
  const tab = (id, name) => el("button", {
    type: "button", class: S.topic === id ? "active" : "", onclick: () => openChat(chat.id, id),
  }, name);
  nav.append(tab(null, t("general")));
  for (const topic of chat.topics || []) nav.append(tab(topic.message_thread_id, `# ${topic.name}`));
}

function appendMessage(node) {
  $("messages").append(node);
  followNewest(false);
}

function nearBottom(area) { return area.scrollHeight - area.scrollTop - area.clientHeight < 120; }

// Keep the newest message in view unless the person scrolled up to read older ones; called
// again when a photo has loaded, since it grows the message after it was appended.
function followNewest(always) {
  const area = $("messages");
  if (always) S.atBottom = true;
  if (S.atBottom) {
    area.scrollTop = area.scrollHeight;
    S.autoTop = area.scrollTop; // the scroll event of this arrives later: not the person's
  }
}

function renderBotStatus() {
  const status = $("bot-status");
  status.textContent = t("starting");
  status.hidden = S.botConnected;
}

function fileUrl(fileId) { return `/sandbox/files/${encodeURIComponent(fileId)}`; }

function money(amount, currency) {
  try {
    const format = new Intl.NumberFormat(S.lang === "zh" ? "zh-CN" : "en", { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  } catch (_) {
    return `${amount} ${currency}`;
  }
}

function renderMessage(chat, m) {
  const me = actingUser(chat);
  const mine = m.from && m.from.id === me;
  if (m.forum_topic_created) {
    return el("div", { class: "row service", dataset: { messageId: m.message_id } },
      `${t("topicCreated")}: ${m.forum_topic_created.name}`);
  }
  const bubble = el("div", { class: "msg" });
  if (chat.type !== "private" && !mine && m.from) {
    bubble.append(el("div", { class: "sender" }, m.from.first_name + (m.from.is_bot ? "" : "")));
  }
  if (m.reply_to_message) bubble.append(el("div", { class: "quote" }, preview(m.reply_to_message).slice(0, 120)));
  if (m.photo && m.photo.length) {
    const biggest = m.photo[m.photo.length - 1];
    bubble.append(el("a", { href: fileUrl(biggest.file_id), target: "_blank", rel: "noopener" },
      el("img", { class: "photo", src: fileUrl(biggest.file_id), alt: m.caption || "photo",
        onload: () => followNewest(false) })));
  }
  if (m.document) {
    const doc = m.document;
    bubble.append(el("a", { class: "document", href: fileUrl(doc.file_id), target: "_blank", rel: "noopener" },
      el("span", { class: "icon" }, "📄"),
      el("span", {}, el("div", {}, doc.file_name || "file"),
        el("div", { class: "size" }, `${Math.max(1, Math.round((doc.file_size || 0) / 1024))} KB`))));
  }
  if (m.contact) bubble.append(el("div", {}, `👤 ${m.contact.first_name} · ${m.contact.phone_number}`));
  if (m.location) bubble.append(el("div", {}, `📍 ${m.location.latitude}, ${m.location.longitude}`));
  if (m.invoice) {
    const inv = m.invoice;
    bubble.append(el("div", { class: "invoice" }, el("b", {}, inv.title), el("div", {}, inv.description),
      el("div", { class: "amount" }, money(inv.total_amount, inv.currency))));
  }
  if (m.successful_payment) {
    const p = m.successful_payment;
    bubble.append(el("div", {}, `✅ ${t("paid")} ${money(p.total_amount, p.currency)}`));
  }
  const text = m.text !== undefined ? m.text : m.caption;
  const entities = m.text !== undefined ? m.entities : m.caption_entities;
  if (text) bubble.append(formatted(text, entities || [], chat));
  const when = new Date((m.edit_date || m.date) * 1000);
  bubble.append(el("span", { class: "time" }, `${m.edit_date ? t("edited") + " " : ""}${when.toTimeString().slice(0, 5)}`));
  const row = el("div", { class: `row${mine ? " out" : ""}`, dataset: { messageId: m.message_id } }, bubble);
  const keyboard = m.reply_markup && m.reply_markup.inline_keyboard;
  if (keyboard) row.append(inlineKeyboard(chat, m, keyboard));
  else if (m.invoice && m.from && m.from.is_bot) {
    row.append(inlineKeyboard(chat, m, [[{ text: `${t("pay")} ${money(m.invoice.total_amount, m.invoice.currency)}`, pay: true }]]));
  }
  return row;
}

// Telegram's entities -> DOM nodes. Nested entities nest; overlapping ones are clipped.
const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", blockquote: "blockquote", expandable_blockquote: "blockquote" };

function safeHref(url) {
  try {
    const parsed = new URL(url, location.href);
    return ["http:", "https:", "mailto:", "tg:"].includes(parsed.protocol) ? parsed.href : null;
  } catch (_) {
    return null;
  }
}

function entityNode(entity, text, chat) {
  if (TAGS[entity.type]) return el(TAGS[entity.type]);
  const piece = text.slice(entity.offset, entity.offset + entity.length);
  switch (entity.type) {
    case "pre": return el("pre", { dataset: { language: entity.language || "" } });
    case "text_link": return el("a", { href: safeHref(entity.url), target: "_blank", rel: "noopener noreferrer" });
    case "url": return el("a", { href: safeHref(/^[a-z]+:/i.test(piece) ? piece : `http://${piece}`), target: "_blank", rel: "noopener noreferrer" });
    case "email": return el("a", { href: safeHref(`mailto:${piece}`) });
    case "spoiler": return el("span", { class: "spoiler", onclick: (e) => e.currentTarget.classList.add("shown") });
    case "bot_command": return el("span", { class: "command", onclick: () => sendText(chat, piece) });
    case "mention": case "hashtag": case "cashtag": return el("span", { class: "command" });
    default: return el("span", { class: entity.type });
  }
}

function formatted(text, entities, chat) {
  const root = el("span", { class: "text" });
  const sorted = entities.filter((e) => e.length > 0)
    .map((e) => ({ ...e })).sort((a, b) => a.offset - b.offset || b.length - a.length);
  const build = (start, end, list, parent) => {
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const entity = list[i];
      const from = Math.max(entity.offset, pos);
      const to = Math.min(entity.offset + entity.length, end);
      let j = i + 1;
      const inner = [];
      while (j < list.length && list[j].offset < to) inner.push(list[j++]);
      if (to <= from) { i = j; continue; }
      if (from > pos) parent.append(text.slice(pos, from));
      const node = entityNode(entity, text, chat);
      build(from, to, inner, node);
      parent.append(node);
      pos = to;
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  };
  build(0, text.length, sorted, root);
  return root;
}

// ---- acting -----------------------------------------------------------------------------------
function actor(chat) {
  const body = { user_id: actingUser(chat) };
  if (chat.is_forum && S.topic) body.thread_id = S.topic;
  return body;
}

async function sendText(chat, text) {
  if (!chat || !text.trim()) return;
  // plain: the person closed the reply bar a force_reply opened (✕), as in Telegram's apps.
  await api(`/sandbox/chats/${chat.id}/messages`, { ...actor(chat), text, plain: S.plain });
  S.plain = false;
}

function inlineKeyboard(chat, message, rows) {
  const box = el("div", { class: "inline-kb" });
  for (const row of rows) {
    const line = el("div", { class: "kb-row" });
    for (const button of row) {
      const kind = button.url || button.login_url || button.web_app ? "url" : "";
      line.append(el("button", {
        type: "button", class: kind, title: button.url || "",
        onclick: (e) => pressInline(chat, message, button, e.currentTarget),
      }, button.text));
    }
    box.append(line);
  }
  return box;
}

async function pressInline(chat, message, button, node) {
  const link = button.url || (button.login_url && button.login_url.url) || (button.web_app && button.web_app.url);
  if (link) {
    const href = safeHref(link);
    if (href) window.open(href, "_blank", "noopener");
    return;
  }
  node.classList.add("busy");
  try {
    if (button.pay) {
      await api("/sandbox/pay", { user_id: actingUser(chat), chat_id: chat.id, message_id: message.message_id });
      toast(`✅ ${t("paid")}`);
    } else if (button.callback_data !== undefined) {
      const result = await api(`/sandbox/chats/${chat.id}/click`, {
        user_id: actingUser(chat), button: button.text, message_id: message.message_id,
      });
      const answer = result && result.answer;
      if (answer && answer.text) toast(answer.text, answer.show_alert);
      if (answer && answer.url && safeHref(answer.url)) window.open(safeHref(answer.url), "_blank", "noopener");
    } else {
      toast(t("notSupported"));
    }
  } finally {
    node.classList.remove("busy");
  }
}

let keyboardAsked = 0;
async function refreshKeyboard() {
  // Only the newest request draws: two bot messages in a row must not draw two keyboards.
  const asked = ++keyboardAsked;
  const chat = chatById(S.current);
  const markup = chat ? await api(`/sandbox/chats/${chat.id}/keyboard`).catch(() => null) : null;
  if (asked !== keyboardAsked) return;
  const area = $("reply-keyboard");
  area.replaceChildren();
  area.hidden = true;
  $("text").placeholder = t("message");
  if (chat) await refreshReplyBar(chat);
  if (!markup || !markup.keyboard) return;
  for (const row of markup.keyboard) {
    const line = el("div", { class: "kb-row" });
    for (const raw of row) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      line.append(el("button", { type: "button", onclick: () => pressReply(chat, button) }, button.text));
    }
    area.append(line);
  }
  if (markup.input_field_placeholder) $("text").placeholder = markup.input_field_placeholder;
  area.hidden = false;
}

async function refreshReplyBar(chat) {
  // A force_reply message meant for this person opens the reply bar with its placeholder; the
  // server makes the next message a reply to it unless the bar was closed.
  const query = `user_id=${actingUser(chat)}`;
  const forced = S.plain ? null
    : await api(`/sandbox/chats/${chat.id}/forced_reply?${query}`).catch(() => null);
  $("reply-bar").hidden = !forced;
  if (!forced) return;
  $("reply-to").textContent = `↩ ${t("replyingTo")}: ${preview(forced.message).slice(0, 80)}`;
  const hint = forced.force_reply.input_field_placeholder;
  if (hint) $("text").placeholder = hint;
}

async function pressReply(chat, button) {
  if (button.request_contact) await api(`/sandbox/chats/${chat.id}/contact`, actor(chat));
  else if (button.request_location) await api(`/sandbox/chats/${chat.id}/location`, actor(chat));
  else await sendText(chat, button.text);
}

async function sendFile(chat, file) {
  const form = new FormData();
  for (const [key, value] of Object.entries(actor(chat))) form.append(key, String(value));
  form.append("file", file, file.name);
  const kind = file.type.startsWith("image/") ? "photo" : "document";
  await api(`/sandbox/chats/${chat.id}/${kind}`, form);
}

// ---- Bot API calls panel ----------------------------------------------------------------------
function addCall(entry) {
  S.calls.push(entry);
  if (S.calls.length > 300) S.calls.shift();
  if (entry.method.toLowerCase() === "getupdates" && !$("show-polling").checked) return;
  $("calls").prepend(callNode(entry));
  while ($("calls").children.length > 300) $("calls").lastChild.remove();
}

function callNode(entry) {
  const status = entry.ok ? `✓ ${Math.round((entry.duration || 0) * 1000)} ms` : `✗ ${entry.error_code}`;
  const when = new Date(entry.time * 1000).toTimeString().slice(0, 8);
  const details = el("details", {},
    el("summary", {}, el("span", { class: "method" }, entry.method), " ", el("span", { class: "label" }, when),
      el("span", { class: "status" }, status)),
    el("div", { class: "label" }, t("params")), el("pre", {}, JSON.stringify(entry.params, null, 2)),
    el("div", { class: "label" }, entry.ok ? t("result") : t("error")),
    el("pre", {}, entry.ok ? JSON.stringify(entry.result, null, 2) : entry.description || ""));
  return el("li", { class: entry.ok ? "ok" : "fail", dataset: { method: entry.method } }, details);
}

function renderCalls() {
  const polling = $("show-polling").checked;
  const shown = S.calls.filter((c) => polling || c.method.toLowerCase() !== "getupdates");
  $("calls").replaceChildren(...shown.reverse().map(callNode));
}

// ---- page chrome ------------------------------------------------------------------------------
let toastTimer = null;
function toast(text, alert) {
  const box = $("toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toastTimer);
  if (!alert) toastTimer = setTimeout(() => { box.hidden = true; }, 2500);
}

function applyLanguage() {
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  $("lang-toggle").textContent = t("lang");
  renderBotStatus();
  $("new-lang").value = S.lang === "zh" ? "zh-hans" : "en";
  renderChatList();
  renderHeader();
  renderTopics(chatById(S.current));
  renderCalls();
  if (S.current !== null) openChat(S.current, S.topic);
}

function wire() {
  $("lang-toggle").addEventListener("click", () => {
    S.lang = S.lang === "zh" ? "en" : "zh";
    localStorage.setItem("sandbox.lang", S.lang);
    applyLanguage();
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    await sendText(chatById(S.current), text);
  });
  $("reply-close").addEventListener("click", () => {
    S.plain = true;
    $("reply-bar").hidden = true;
  });
  $("start").addEventListener("click", async () => {
    await sendText(chatById(S.current), "/start");
  });
  $("share-contact").addEventListener("click", async () => {
    const chat = chatById(S.current);
    if (chat) await api(`/sandbox/chats/${chat.id}/contact`, actor(chat));
  });
  $("attach").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) await sendFile(chatById(S.current), file);
  });
  $("add-customer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("new-name").value.trim();
    if (!name) return;
    // A mobile number a shop in China accepts (the sandbox's default +1 555 numbers are fictional).
    const phone = `+86138${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    const user = await api("/sandbox/users", { first_name: name, language_code: $("new-lang").value, phone_number: phone });
    $("new-name").value = "";
    toast(`${t("added")}: ${name}`);
    await loadChats();
    await openChat(user.id, null);
  });
  // Only the person's own scrolling decides whether to follow the newest message: the event of
  // our own scroll can arrive after a photo grew the chat, and would look like scrolling up.
  $("messages").addEventListener("scroll", (e) => {
    if (e.target.scrollTop !== S.autoTop) S.atBottom = nearBottom(e.target);
  });
  $("show-polling").addEventListener("change", renderCalls);
  $("clear-calls").addEventListener("click", async () => {
    await api("/sandbox/log", undefined, "DELETE");
    S.calls = [];
    renderCalls();
  });
  $("toast").addEventListener("click", () => { $("toast").hidden = true; });
}

wire();
applyLanguage();
listen();
