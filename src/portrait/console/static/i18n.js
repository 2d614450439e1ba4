// Interface strings in English and Chinese; the choice is remembered in localStorage.
// Tag names come bilingual from the catalog ({en, zh}); taxonomy nodes are translated from a
// glossary of the field's usual terms and shown as written when unknown.

import { STRINGS } from "./strings.js";

const STORE = "portrait.lang";

// Taxonomy terms as the field writes them (DESIGN.md) and as the examples use them.
const GLOSSARY = {
  "人口属性": "Demographics", "用户价值": "Value", "消费特征": "Consumption", "兴趣偏好": "Interests",
  "生命周期": "Lifecycle", "行为特征": "Behaviour", "预测标签": "Predicted",
  "活跃度": "Activity", "时间偏好": "Time preference", "活跃时间": "Activity time", "消费金额": "Spend",
  "购买频次": "Purchase frequency", "退货": "Returns", "购买力": "Purchasing power", "价格敏感度": "Price sensitivity",
  "促销敏感度": "Promotion sensitivity", "地域": "Region", "品类偏好": "Category preference", "阶段": "Stage",
  "沉默时长": "Time since last purchase", "预测属性": "Predicted attributes", "联系方式": "Contact",
  "近30天": "Last 30 days", "近90天": "Last 90 days", "近7天": "Last 7 days", "星期": "Weekday", "小时": "Hour",
  "首次": "First", "最近": "Latest", "总次数": "Total", "活跃购买": "Active buying", "客单价": "Order value",
  "退货率": "Return rate", "得分": "Score", "国家": "Country", "最偏好": "Favourite", "最近购买": "Recency",
  "客户分群": "Customer segment", "RFM评分": "RFM score", "性别": "Gender", "年龄": "Age", "评分": "Ratings",
  "类型偏好": "Genre preference", "流失": "Churn", "严格评分者": "Strict rater", "价值分层": "Value tier",
  "价值预测": "Value prediction", "基本信息": "Basics", "平均分": "Average rating", "年龄段": "Age band",
  "未来90天消费": "Spend, next 90 days", "模型版本": "Model version", "次数": "Count", "流失标签": "Churn label",
  "流失概率": "Churn probability", "流失预测": "Churn prediction", "电影类型": "Movie genre", "职业": "Occupation",
  "高价值": "High value",
};

// Units and event types as catalogs and sources usually write them (shown as written when unknown).
const ZH_WORDS = {
  days: "天", day: "天", orders: "单", order: "单", events: "次", times: "次", hours: "小时", items: "件",
  purchase: "购买", return: "退货", view: "浏览", cart: "加购", favorite: "收藏", unfavorite: "取消收藏",
  search: "搜索", rate: "评分", click: "点击", share: "分享",
};

/** A unit or event type in the interface language. */
export function word(text) {
  return lang === "zh" && text && ZH_WORDS[text] ? ZH_WORDS[text] : text;
}

let lang = localStorage.getItem(STORE) === "zh" ? "zh" : "en";
const listeners = new Set();

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next === "zh" ? "zh" : "en";
  localStorage.setItem(STORE, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  listeners.forEach((fn) => fn(lang));
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** An interface string, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** A catalog name {en, zh} in the current language (falling back to the other, then to `fallback`). */
export function localName(name, fallback = "") {
  if (!name) return fallback;
  if (typeof name === "string") return name;
  return name[lang] || name.en || name.zh || fallback;
}

/** The other language's name, shown beside the current one when it differs. */
export function otherName(name) {
  if (!name || typeof name === "string") return "";
  const other = lang === "zh" ? name.en : name.zh;
  return other && other !== localName(name) ? other : "";
}

/** A taxonomy node: Chinese terms get their English gloss in English mode. */
export function nodeName(term) {
  if (lang === "zh") return term;
  return GLOSSARY[term] || term;
}

export function kindName(kind) {
  return STRINGS[lang][`kind.${kind}`] || kind;
}

document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
