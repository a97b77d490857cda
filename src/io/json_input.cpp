#include "ufm/io/json_input.hpp"

#include <algorithm>
#include <vector>

#include "ufm/io/json_depth.hpp"

namespace ufm::io {

template <class Json>
Json parse_json_input(std::string_view text) {
  if (json_too_deep(text))
    throw JsonInputError(json_too_deep_reason());
  // Per open object or array (innermost last): an object's keys so far, and the key under which it
  // sits ("" for an array's element or the document), for the message's path.
  struct Open {
    std::vector<std::string> keys;
    std::string name;
  };
  std::vector<Open> open;
  std::string last_key;  // the key whose value comes next; "" in an array
  const typename Json::parser_callback_t check = [&](int, typename Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        open.push_back({{}, last_key});
        last_key.clear();
        break;
      case Json::parse_event_t::key: {
        std::vector<std::string>& keys = open.back().keys;
        const std::string& given = parsed.template get_ref<const std::string&>();
        const std::string key = given.size() > 60 ? given.substr(0, 57) + "..." : given;
        if (std::find(keys.begin(), keys.end(), given) != keys.end()) {
          std::string path;
          for (const Open& o : open)
            if (!o.name.empty()) path += o.name + ".";
          throw JsonInputError("key '" + key + "' appears twice in one object (at " + path + key + ")");
        }
        keys.push_back(given);
        last_key = key;
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        open.pop_back();
        last_key.clear();
        break;
      case Json::parse_event_t::value:  // a scalar: the next value in an object comes after a key
        last_key.clear();
        break;
    }
    return true;
  };
  return Json::parse(text, check);
}

template nlohmann::json parse_json_input<nlohmann::json>(std::string_view);
template nlohmann::ordered_json parse_json_input<nlohmann::ordered_json>(std::string_view);

}  // namespace ufm::io
