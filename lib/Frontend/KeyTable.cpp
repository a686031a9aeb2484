//===- KeyTable.cpp - keys of a model description and what they set -------===//

#include "moe/Frontend/KeyTable.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace moe::frontend;

std::string RawValue::describe() const {
  switch (kind) {
  case Kind::String:
    return "the string \"" + text + "\"";
  case Kind::Null:
    return "null";
  case Kind::List:
    return "a list";
  case Kind::Flag:
    return "no value";
  default:
    return "'" + text + "'";
  }
}

KeyTable::KeyTable(std::vector<KeySpec> specs, std::string noun)
    : specs(std::move(specs)), noun(std::move(noun)) {
  for (size_t i = 0; i < this->specs.size(); ++i)
    index[this->specs[i].key] = i;
}

const KeySpec *KeyTable::find(llvm::StringRef key) const {
  auto it = index.find(key);
  return it == index.end() ? nullptr : &specs[it->second];
}

std::string KeyTable::keyFor(llvm::StringRef field) const {
  for (const KeySpec &spec : specs)
    if (spec.field == field)
      return spec.key;
  return field.str();
}

void KeyTable::reportUnknown(const ConfigEntry &entry,
                             Diagnostics &diag) const {
  std::vector<llvm::StringRef> known;
  known.reserve(specs.size());
  for (const KeySpec &spec : specs)
    known.push_back(spec.key);
  std::string message = "unknown " + noun + " '" + entry.key + "'";
  std::string suggestion = closestSpelling(entry.key, known);
  if (!suggestion.empty())
    message += "; did you mean '" + suggestion + "'?";
  diag.error(entry.loc, message);
}

bool KeyTable::apply(const std::vector<ConfigEntry> &entries,
                     ModelConfig &config, KeyOrigins &origins,
                     Diagnostics &diag) const {
  bool ok = true;
  for (const ConfigEntry &entry : entries) {
    const KeySpec *spec = find(entry.key);
    if (!spec) {
      reportUnknown(entry, diag);
      ok = false;
      continue;
    }
    if (!spec->apply(entry, config, diag)) {
      ok = false;
      continue;
    }
    if (!spec->field.empty())
      origins[spec->field] = KeyOrigin{entry.key, entry.value.loc};
  }
  return ok;
}

//===----------------------------------------------------------------------===//
// Typed views
//===----------------------------------------------------------------------===//

static void reportType(const ConfigEntry &entry, llvm::StringRef expected,
                       Diagnostics &diag) {
  diag.error(entry.value.loc, "'" + entry.key + "' expects " + expected +
                                  ", got " + entry.value.describe());
}

static bool isScalarText(const RawValue &value) {
  return value.kind == RawValue::Kind::Plain ||
         value.kind == RawValue::Kind::Number;
}

std::optional<int64_t> moe::frontend::toInt(const ConfigEntry &entry,
                                            Diagnostics &diag) {
  int64_t value = 0;
  if (isScalarText(entry.value) &&
      !llvm::StringRef(entry.value.text).getAsInteger(10, value))
    return value;
  reportType(entry, "an integer", diag);
  return std::nullopt;
}

std::optional<double> moe::frontend::toFloat(const ConfigEntry &entry,
                                             Diagnostics &diag) {
  double value = 0;
  if (isScalarText(entry.value) &&
      !llvm::StringRef(entry.value.text).getAsDouble(value) &&
      std::isfinite(value))
    return value;
  reportType(entry, "a number", diag);
  return std::nullopt;
}

std::optional<bool> moe::frontend::toBool(const ConfigEntry &entry,
                                          Diagnostics &diag) {
  const RawValue &value = entry.value;
  if (value.kind == RawValue::Kind::Flag)
    return true;
  if (value.kind == RawValue::Kind::Bool ||
      value.kind == RawValue::Kind::Plain) {
    llvm::StringRef text(value.text);
    if (text.equals_insensitive("true"))
      return true;
    if (text.equals_insensitive("false"))
      return false;
  }
  reportType(entry, "true or false", diag);
  return std::nullopt;
}

std::optional<std::string> moe::frontend::toText(const ConfigEntry &entry,
                                                 Diagnostics &diag) {
  switch (entry.value.kind) {
  case RawValue::Kind::Null:
  case RawValue::Kind::List:
  case RawValue::Kind::Flag:
    reportType(entry, "a single value", diag);
    return std::nullopt;
  default:
    return entry.value.text;
  }
}

std::optional<std::vector<std::string>>
moe::frontend::toTextList(const ConfigEntry &entry, Diagnostics &diag) {
  if (entry.value.kind != RawValue::Kind::List) {
    std::optional<std::string> text = toText(entry, diag);
    if (!text)
      return std::nullopt;
    return std::vector<std::string>{*text};
  }
  std::vector<std::string> items;
  for (const RawValue &item : entry.value.items) {
    if (item.kind == RawValue::Kind::List ||
        item.kind == RawValue::Kind::Null) {
      diag.error(item.loc, "'" + entry.key +
                               "' expects a list of values, got " +
                               item.describe() + " inside it");
      return std::nullopt;
    }
    items.push_back(item.text);
  }
  return items;
}

//===----------------------------------------------------------------------===//
// Key specs
//===----------------------------------------------------------------------===//

KeySpec moe::frontend::customKey(std::string key, std::string field,
                                 Arity arity, ApplyFn apply) {
  return KeySpec{std::move(key), std::move(field), arity, std::move(apply)};
}

KeySpec moe::frontend::intKey(std::string key, std::string field,
                              int64_t ModelConfig::*member) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     std::optional<int64_t> value = toInt(entry, diag);
                     if (value)
                       config.*member = *value;
                     return value.has_value();
                   });
}

KeySpec moe::frontend::floatKey(std::string key, std::string field,
                                double ModelConfig::*member) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     std::optional<double> value = toFloat(entry, diag);
                     if (value)
                       config.*member = *value;
                     return value.has_value();
                   });
}

KeySpec
moe::frontend::optionalFloatKey(std::string key, std::string field,
                                std::optional<double> ModelConfig::*member) {
  return customKey(
      std::move(key), std::move(field), Arity::One,
      [member](const ConfigEntry &entry, ModelConfig &config,
               Diagnostics &diag) {
        llvm::StringRef text(entry.value.text);
        if (entry.value.kind == RawValue::Kind::Null ||
            (entry.value.kind == RawValue::Kind::Plain && text == "None")) {
          config.*member = std::nullopt;
          return true;
        }
        std::optional<double> value = toFloat(entry, diag);
        if (value)
          config.*member = value;
        return value.has_value();
      });
}

KeySpec moe::frontend::boolKey(std::string key, std::string field,
                               bool ModelConfig::*member) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     std::optional<bool> value = toBool(entry, diag);
                     if (value)
                       config.*member = *value;
                     return value.has_value();
                   });
}

KeySpec moe::frontend::textKey(std::string key, std::string field,
                               std::string ModelConfig::*member) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     std::optional<std::string> value = toText(entry, diag);
                     if (value)
                       config.*member = *value;
                     return value.has_value();
                   });
}

KeySpec moe::frontend::flagKey(std::string key, std::string field,
                               bool ModelConfig::*member, bool value) {
  return customKey(
      std::move(key), std::move(field), Arity::None,
      [member, value](const ConfigEntry &, ModelConfig &config, Diagnostics &) {
        config.*member = value;
        return true;
      });
}

KeySpec moe::frontend::nullableIntKey(std::string key, std::string field,
                                      int64_t ModelConfig::*member) {
  return customKey(std::move(key), std::move(field), Arity::One,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     if (entry.value.kind == RawValue::Kind::Null)
                       return true;
                     std::optional<int64_t> value = toInt(entry, diag);
                     if (value)
                       config.*member = *value;
                     return value.has_value();
                   });
}

KeySpec
moe::frontend::pathListKey(std::string key, std::string field,
                           std::vector<std::string> ModelConfig::*member,
                           Arity arity) {
  return customKey(std::move(key), std::move(field), arity,
                   [member](const ConfigEntry &entry, ModelConfig &config,
                            Diagnostics &diag) {
                     auto paths = toTextList(entry, diag);
                     if (paths)
                       config.*member = *paths;
                     return paths.has_value();
                   });
}

KeySpec moe::frontend::requiredValueKey(std::string key, double required,
                                        std::string why) {
  return customKey(
      std::move(key), "", Arity::One,
      [required, why = std::move(why)](const ConfigEntry &entry, ModelConfig &,
                                       Diagnostics &diag) {
        std::optional<double> value = toFloat(entry, diag);
        if (!value)
          return false;
        if (*value == required)
          return true;
        diag.error(entry.value.loc, "'" + entry.key + "' is " +
                                        entry.value.text + ", but " + why);
        return false;
      });
}

KeySpec moe::frontend::recordKey(std::string key, std::string field,
                                 std::optional<ConfigEntry> &slot) {
  return customKey(
      std::move(key), std::move(field), Arity::One,
      [&slot](const ConfigEntry &entry, ModelConfig &, Diagnostics &) {
        slot = entry;
        return true;
      });
}

KeySpec moe::frontend::stateFlagKey(std::string key, std::string field,
                                    bool &slot) {
  return customKey(std::move(key), std::move(field), Arity::None,
                   [&slot](const ConfigEntry &, ModelConfig &, Diagnostics &) {
                     slot = true;
                     return true;
                   });
}

KeySpec moe::frontend::ignoredKey(std::string key, Arity arity) {
  return customKey(
      std::move(key), "", arity,
      [](const ConfigEntry &, ModelConfig &, Diagnostics &) { return true; });
}
